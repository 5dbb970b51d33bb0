"""``python -m thesislib ...`` runs the ``thesislib`` command."""
import sys

from thesislib.suite.cli import main

sys.exit(main())
