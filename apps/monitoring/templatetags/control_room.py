"""`{% control_room %}`: the admin index's panel of what is wrong now (templates/admin/index.html).

The readings and lines are apps.monitoring.control_room{,_panel}; this only hands them to
the template, for the user of the request.
"""

from __future__ import annotations

from typing import Any

from django import template

from apps.monitoring.control_room_panel import panel_for

register = template.Library()


@register.inclusion_tag("admin/control_room.html", takes_context=True)
def control_room(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"panel": panel_for(user) if user is not None else None}
