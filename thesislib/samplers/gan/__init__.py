"""The conditional GAN of thesis ch. 5: networks, training, checkpoints, conditioning checks."""
