from django import template

from mithrapay.dashboard import dashboard_for

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard(context):
    """The dashboard figures the signed-in member of staff may see."""
    return dashboard_for(context["request"].user)
