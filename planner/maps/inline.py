"""An offline map shown inside a Jupyter notebook (笔记本内嵌地图).

folium's own notebook display loads Leaflet from public CDNs, so on an intranet the cell
stays blank. :class:`InlineMap` shows a page rendered by
:func:`planner.maps.render_offline` (every asset inlined) in a frame of the notebook
output instead; the notebook then works, and keeps working when saved and reopened
elsewhere, with no network.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["InlineMap"]


@dataclass(frozen=True)
class InlineMap:
    """A self-contained map page that Jupyter displays in a frame.

    Parameters
    ----------
    page : str
        The whole HTML page (from :func:`planner.maps.render_offline`).
    height : int
        Height of the frame in pixels.
    """

    page: str
    height: int = 600

    def _repr_html_(self) -> str:
        doc = html.escape(self.page, quote=True)
        return (
            f'<iframe srcdoc="{doc}" style="width:100%;height:{int(self.height)}px;'
            'border:1px solid #ccc" sandbox="allow-scripts allow-popups"></iframe>'
        )
