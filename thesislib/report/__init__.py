"""The HTML reports: chapter headlines, page assembly (contents, navigation, folded code),
metrics tables, progress-bar text, paths relative to the output folder, thumbnails, and the
offline nbconvert template.
"""
from .bars import finish_progress_bars
from .headlines import MAIN_FIGURES, chapter_headline, headline_html, read_headline, write_headline
from .pages import CODE_MODES, add_contents, insert_headline, nav_html, static_outputs
from .paths import relative_paths, shown_path
from .tables import metrics_table
from .thumbnail import notebook_thumbnail

__all__ = [
    "CODE_MODES", "MAIN_FIGURES", "add_contents", "chapter_headline", "finish_progress_bars",
    "headline_html", "insert_headline", "metrics_table", "nav_html", "notebook_thumbnail",
    "read_headline", "relative_paths", "shown_path", "static_outputs", "write_headline",
]
