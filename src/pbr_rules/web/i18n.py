"""The workspace's words: the page templates call ``_("English text")``, translated by the
package's message catalogue (``pbr_rules.i18n``; ``make messages`` extracts the templates'
texts through ``babel.cfg``). Danish is the pages' default language (the users are Danish
municipalities); a text without a translation shows in English.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from pbr_rules.i18n import LANGUAGES, N_, catalogue

# Words the templates translate from data (a claim's state, an action), so the extractor
# cannot see them in the templates: marked here.
DATA_WORDS = (
    N_("due"), N_("approved"), N_("paid"), N_("rejected"), N_("withdrawn"), N_("recovery_due"), N_("recovered"),
    N_("approve"), N_("pay"), N_("reject"), N_("reinstate"), N_("recover"), N_("dispute"), N_("clear"), N_("settle"),
)

__all__ = ["DATA_WORDS", "LANGUAGES", "translator"]


def translator(lang: str) -> Callable[[str], str]:
    """``_(text)`` for templates in ``lang``."""
    if lang == "en":
        return lambda text: text
    words = _words(lang)
    return lambda text: words.get(text) or text


@lru_cache(maxsize=None)
def _words(lang: str) -> dict[str, str]:
    return catalogue(lang)  # read once per process: the catalogue is part of the installed package
