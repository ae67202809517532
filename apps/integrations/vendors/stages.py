"""Which CRM stages mean won and lost, for the CRMs that say it with a stage (HubSpot's
internal stage ids, Zoho's stage names); the connection's lists override the defaults."""

from apps.integrations.vendors.base import Outcome, lines

DEFAULTS = {
    "hubspot": (("closedwon",), ("closedlost",)),
    "zoho": (("Closed Won",), ("Closed Lost", "Closed-Lost to Competition")),
}


def stage_outcome(connection, stage: str) -> Outcome:
    default_won, default_lost = DEFAULTS.get(connection.vendor, ((), ()))
    won = {s.casefold() for s in (lines(connection.won_stages) or default_won)}
    lost = {s.casefold() for s in (lines(connection.lost_stages) or default_lost)}
    key = (stage or "").strip().casefold()
    if key in won:
        return "won"
    if key in lost:
        return "lost"
    return "open"
