"""Metrics mappings as tables of formatted values with units."""
from thesislib.report.tables import metrics_table


def test_metrics_table_formats_values_with_units():
    metrics = {"cvgan1": {"seconds": 40.123, "gan_sex_accuracy": 0.5, "gan_age_mae": 17.74, "gan_age_r": -0.061,
                          "generator": 282040, "mean_p": 8.65e-06, "ks_sum": 17.03, "n_gan": 300, "device": "cpu"},
               "cvgan2": {"seconds": 2.0, "gan_sex_accuracy": 0.98, "extra_mm": 1.234}}
    t = metrics_table(metrics)
    assert list(t.columns) == ["unit", "cvgan1", "cvgan2"]
    assert t.loc["seconds"].tolist() == ["s", "40.1", "2.0"]
    assert t.loc["gan sex accuracy"].tolist() == ["%", "50.0", "98.0"]
    assert t.loc["gan age mae", "unit"] == "years" and t.loc["gan age r", "unit"] == "Pearson r"
    assert t.loc["generator"].tolist() == ["weights", "282,040", ""]
    assert t.loc["mean p", "cvgan1"] == "8.65e-06" and t.loc["n gan", "unit"] == "count"
    assert t.loc["extra mm"].tolist() == ["mm", "", "1.23"] and t.loc["device", "cvgan1"] == "cpu"
    flat = metrics_table({"profile": "smoke", "widget_update_ms": {"median": 36.2, "n": 19}, "ok": True})
    assert list(flat.columns) == ["unit", "value"]
    assert flat.loc["widget update ms.median"].tolist() == ["ms", "36"]
    assert flat.loc["widget update ms.n"].tolist() == ["count", "19"] and flat.loc["ok", "value"] == "yes"
