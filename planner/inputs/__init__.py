"""The first step (输入): read, canonicalise and validate a scenario's inputs.

``readers`` read bureau files as they come, ``canonical`` maps them onto the schema
(``schema``), ``checks`` checks across inputs, ``load`` does all of it for a scenario and
returns :class:`Inputs` (``model``); ``scenario``, ``norms`` and ``schedules`` read the
scenario, norms and demographic-schedule files. Nothing after this step reads a file.
"""

from planner.inputs.model import EXCLUDED_COLUMNS, FLAG_CODES_IGNORED, Inputs, forecast_unavailable

__all__ = ["EXCLUDED_COLUMNS", "FLAG_CODES_IGNORED", "Inputs", "forecast_unavailable"]
