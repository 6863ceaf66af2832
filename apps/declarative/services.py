"""Declarative configuration: the catalog, plans and clients as one YAML file.

document = config_parse(text=path.read_text(), source=str(path))
report = config_apply(document=document)      # all or nothing; ConfigInvalid on errors
text = config_dump(with_secrets=False)        # the same format; applying it is a no-op
diff = config_diff(document=document)         # what applying would change (secrets masked)
"""

from apps.declarative.apply import config_apply
from apps.declarative.changes import Change, ConfigDiff
from apps.declarative.diff import config_diff
from apps.declarative.document import ConfigDocument, ConfigInvalid, ConfigIssue
from apps.declarative.dump import config_dump
from apps.declarative.parse import config_parse
from apps.declarative.report import ApplyReport, KindCounts

__all__ = [
    "ApplyReport",
    "Change",
    "ConfigDiff",
    "ConfigDocument",
    "ConfigInvalid",
    "ConfigIssue",
    "KindCounts",
    "config_apply",
    "config_diff",
    "config_dump",
    "config_parse",
]
