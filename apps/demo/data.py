"""What the demo contains: people, a catalog, customers around the world, deals in every
stage and the onboarding playbook. Plain data; ``apps.demo.services`` writes it."""

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

from apps.customers.models import Account
from apps.deals.models import Deal, Stage
from apps.playbooks.models import PlaybookStep


def ascii_text(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# People ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    password: str
    timezone: str = "UTC"
    is_superuser: bool = False

    @property
    def email(self) -> str:
        return f"{self.username}@afterwin.example"


DEMO_USERS = (
    DemoUser("admin", "Avery", "Stone", "Admin", "harbor-lantern-4821", is_superuser=True),
    DemoUser(
        "maria.manager", "Maria", "Lopez", "CS Manager", "meadow-compass-7394", "America/New_York"
    ),
    DemoUser("carla.csm", "Carla", "Jensen", "CSM", "amber-orchard-5162", "America/Chicago"),
    DemoUser("chris.csm", "Chris", "Okafor", "CSM", "cobalt-river-2847", "Europe/London"),
    DemoUser(
        "rita.rep", "Rita", "Alvarez", "Sales Rep", "summit-falcon-6035", "America/Los_Angeles"
    ),
    DemoUser("raj.rep", "Raj", "Mehta", "Sales Rep", "canyon-maple-9418", "Asia/Kolkata"),
    DemoUser(
        "sam.salesmanager",
        "Sam",
        "Becker",
        "Sales Manager",
        "prairie-beacon-3158",
        "America/New_York",
    ),
)


@dataclass(frozen=True)
class Team:
    rep: str
    csm: str


AMERICAS = {"US", "CA", "MX", "BR"}


def territory_team(country: str) -> Team:
    """Rita and Carla look after the Americas, Raj and Chris the rest of the world."""
    if country in AMERICAS:
        return Team(rep="rita.rep", csm="carla.csm")
    return Team(rep="raj.rep", csm="chris.csm")


# Catalog and reasons ---------------------------------------------------------------------

PRODUCTS = {
    # sku: (name, family, list price in USD)
    "PLAT-STARTER": ("Platform Starter", "Platform", "6000.00"),
    "PLAT-BUSINESS": ("Platform Business", "Platform", "18000.00"),
    "PLAT-ENTERPRISE": ("Platform Enterprise", "Platform", "48000.00"),
    "PLAT-SEATS-10": ("Additional seats (pack of 10)", "Platform", "2400.00"),
    "ANL-DASH": ("Analytics Dashboards", "Analytics", "7200.00"),
    "ANL-PREDICT": ("Predictive Insights", "Analytics", "12000.00"),
    "ANL-DWH": ("Data Warehouse Connector", "Analytics", "4800.00"),
    "SVC-ONBOARD": ("Guided Onboarding", "Services", "5000.00"),
    "SVC-SUPPORT": ("Premium Support", "Services", "9000.00"),
    "SVC-TRAINING": ("Admin Training Day", "Services", "1500.00"),
}

WIN_REASONS = {
    "Product fit": "The product does what they need out of the box.",
    "Price / value": "Best value for the budget.",
    "Integrations": "Connects to the tools they already use.",
    "Implementation speed": "Could go live fastest.",
    "Relationship": "Trust in the team and references.",
    "Security & compliance": "Passed their security review.",
}
INACTIVE_WIN_REASONS = {"Year-end discount (retired)": "No longer used since the pricing change."}
LOSS_REASONS = {
    "Price": "Too expensive for them.",
    "Chose a competitor": "Went with another vendor.",
    "No budget": "Budget was cut or never approved.",
    "No decision": "The project stalled.",
    "Missing feature": "A must-have feature is missing.",
    "Timing": "Not now; revisit later.",
}


# Accounts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    name: str
    country: str
    timezone: str
    tier: str
    segment: str
    lifecycle: str
    contacts: tuple[tuple[str, str], ...]  # (name, title); the first is the primary

    @property
    def domain(self) -> str:
        slug = "".join(c if c.isalnum() else "-" for c in ascii_text(self.name).lower())
        return "-".join(part for part in slug.split("-") if part) + ".example"


ENT, MID, SMB = Account.Tier.ENTERPRISE, Account.Tier.MID_MARKET, Account.Tier.SMB
PROSPECT, ONBOARDING, ACTIVE = (
    Account.Lifecycle.PROSPECT,
    Account.Lifecycle.ONBOARDING,
    Account.Lifecycle.ACTIVE,
)

# fmt: off
ACCOUNTS = (
    DemoAccount(
        "Northwind Logistics", "US", "America/Chicago", ENT, "Logistics", ACTIVE,
        (("Dana Whitfield", "VP Operations"), ("Marcus Bell", "IT Director")),
    ),
    DemoAccount(
        "Bluebird Health", "US", "America/New_York", MID, "Healthcare", PROSPECT,
        (("Priya Raman", "Chief Operating Officer"), ("Tom Becker", "Procurement Lead")),
    ),
    DemoAccount(
        "Cascade Outdoor Co.", "US", "America/Los_Angeles", SMB, "Retail", PROSPECT,
        (("Jenna Holt", "Founder"), ("Luis Ortega", "Store Operations")),
    ),
    DemoAccount(
        "Rheinwerk Maschinenbau", "DE", "Europe/Berlin", ENT, "Manufacturing", ACTIVE,
        (("Katrin Vogel", "Leiterin Kundenservice"), ("Jonas Brandt", "IT-Leiter")),
    ),
    DemoAccount(
        "Alpenblick Reisen", "DE", "Europe/Berlin", SMB, "Travel", PROSPECT,
        (("Sebastian Huber", "Geschäftsführer"), ("Lena Maier", "Marketing")),
    ),
    DemoAccount(
        "Thames & Co. Publishing", "GB", "Europe/London", MID, "Media", ONBOARDING,
        (("Olivia Hart", "Head of Digital"), ("George Patel", "Finance Director")),
    ),
    DemoAccount(
        "Brightside Energy", "GB", "Europe/London", ENT, "Energy", PROSPECT,
        (("Fiona MacLeod", "Customer Experience Director"), ("Aidan Walsh", "CTO")),
    ),
    DemoAccount(
        "Maison Lumière", "FR", "Europe/Paris", MID, "Retail", PROSPECT,
        (("Camille Durand", "Directrice des opérations"), ("Hugo Lefèvre", "DSI")),
    ),
    DemoAccount(
        "Boulangerie Numérique", "FR", "Europe/Paris", SMB, "Food & beverage", PROSPECT,
        (("Élodie Martin", "Fondatrice"), ("Julien Moreau", "Comptable")),
    ),
    DemoAccount(
        "Sakura Robotics", "JP", "Asia/Tokyo", ENT, "Manufacturing", ONBOARDING,
        (("Haruka Tanaka", "General Manager"), ("Kenji Watanabe", "Engineering Lead")),
    ),
    DemoAccount(
        "Kumo Games", "JP", "Asia/Tokyo", SMB, "Gaming", PROSPECT,
        (("Yuki Sato", "Producer"), ("Ren Kobayashi", "Community Manager")),
    ),
    DemoAccount(
        "Southern Cross Mining", "AU", "Australia/Perth", ENT, "Mining", PROSPECT,
        (("Matt O'Connor", "Operations Manager"), ("Sarah Nguyen", "Procurement")),
    ),
    DemoAccount(
        "Harbourview Analytics", "AU", "Australia/Sydney", MID, "Professional services",
        PROSPECT,
        (("Chloe Barnes", "Managing Director"), ("Liam Fraser", "Data Lead")),
    ),
    DemoAccount(
        "Verde Agro", "BR", "America/Sao_Paulo", MID, "Agriculture", ACTIVE,
        (("Beatriz Costa", "Diretora de Operações"), ("Rafael Lima", "Gerente de TI")),
    ),
    DemoAccount(
        "Carioca Pagamentos", "BR", "America/Sao_Paulo", SMB, "Fintech", PROSPECT,
        (("Thiago Alves", "CEO"), ("Mariana Rocha", "Produto")),
    ),
    DemoAccount(
        "Indus Fintech", "IN", "Asia/Kolkata", ENT, "Fintech", ONBOARDING,
        (("Ananya Iyer", "Head of Customer Success"), ("Vikram Nair", "CISO")),
    ),
    DemoAccount(
        "Chai & Code Labs", "IN", "Asia/Kolkata", SMB, "Software", PROSPECT,
        (("Rohan Desai", "Co-founder"), ("Sneha Kulkarni", "Operations")),
    ),
    DemoAccount(
        "Maple Leaf Outfitters", "CA", "America/Toronto", MID, "Retail", ONBOARDING,
        (("Emily Tremblay", "Director of E-commerce"), ("Noah Campbell", "IT Manager")),
    ),
    DemoAccount(
        "Pacific Timber Group", "CA", "America/Vancouver", ENT, "Forestry", PROSPECT,
        (("Grace Chen", "VP Customer Operations"), ("Ryan Douglas", "Controller")),
    ),
    DemoAccount(
        "Nordlys Shipping", "NO", "Europe/Oslo", MID, "Logistics", PROSPECT,
        (("Ingrid Solberg", "Driftsdirektør"), ("Magnus Berg", "IT-sjef")),
    ),
    DemoAccount(
        "Tulip Systems", "NL", "Europe/Amsterdam", SMB, "Software", PROSPECT,
        (("Sanne de Vries", "Operations Lead"), ("Daan Bakker", "Developer")),
    ),
    DemoAccount(
        "Aztec Retail Group", "MX", "America/Mexico_City", MID, "Retail", PROSPECT,
        (("Valeria Hernández", "Directora Comercial"), ("Diego Ramírez", "Gerente de TI")),
    ),
    DemoAccount(
        "Cape Point Wines", "ZA", "Africa/Johannesburg", SMB, "Food & beverage", PROSPECT,
        (("Thandi Nkosi", "General Manager"), ("Pieter van Wyk", "Cellar Master")),
    ),
    DemoAccount(
        "Lion City Travel", "SG", "Asia/Singapore", MID, "Travel", PROSPECT,
        (("Wei Ling Tan", "Head of Operations"), ("Arjun Pillai", "Finance")),
    ),
    # Customers for a year, on one 12-month contract that ends next month (deal_history).
    DemoAccount(
        "Cedar Ridge Dental", "US", "America/Denver", MID, "Healthcare", ACTIVE,
        (("Laura Chen", "Practice Operations Director"), ("Ben Ortiz", "Office Manager")),
    ),
    DemoAccount(
        "Kestrel Software", "GB", "Europe/London", SMB, "Software", ACTIVE,
        (("Hannah Price", "Head of Customer Operations"), ("Oliver Grant", "CTO")),
    ),
    DemoAccount(
        "Baltic Amber Travel", "LT", "Europe/Vilnius", MID, "Travel", ACTIVE,
        (("Rasa Petrauskaite", "Operations Manager"), ("Tomas Kazlauskas", "Finance")),
    ),
)
# fmt: on


# Deals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDeal:
    account: str
    name: str
    stage: str
    lines: tuple[tuple[str, int], ...]  # (SKU, quantity)
    created_days_ago: int
    # Days since the last stage change (for closed deals: since the close).
    last_change_days_ago: int = 0
    # Open deals: expected close, in days from today.
    expected_close_in_days: int | None = None
    kind: str = Deal.Kind.NEW_BUSINESS
    reason: str = ""
    notes: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.account} — {self.name}"


# fmt: off
DEALS = (
    # Closed won: each goes through deal_close_won, so the worker enrolls it.
    DemoDeal(
        "Northwind Logistics", "Platform Enterprise", Stage.CLOSED_WON,
        (("PLAT-ENTERPRISE", 1), ("SVC-ONBOARD", 1), ("SVC-SUPPORT", 1)), 95, 40,
        reason="Integrations", notes="Needed the TMS and ERP connectors on day one.",
    ),
    DemoDeal(
        "Rheinwerk Maschinenbau", "Platform Enterprise", Stage.CLOSED_WON,
        (("PLAT-ENTERPRISE", 1), ("PLAT-SEATS-10", 3), ("SVC-TRAINING", 2)), 120, 60,
        reason="Security & compliance", notes="Passed the works-council and GDPR review.",
    ),
    DemoDeal(
        "Sakura Robotics", "Platform Business", Stage.CLOSED_WON,
        (("PLAT-BUSINESS", 1), ("ANL-DASH", 1), ("SVC-ONBOARD", 1)), 70, 6,
        reason="Product fit", notes="Playbooks matched their service process closely.",
    ),
    DemoDeal(
        "Thames & Co. Publishing", "Platform Business", Stage.CLOSED_WON,
        (("PLAT-BUSINESS", 1), ("SVC-TRAINING", 1)), 50, 4,
        reason="Implementation speed", notes="Could go live before their spring catalogue.",
    ),
    DemoDeal(
        "Verde Agro", "Platform Business + Analytics", Stage.CLOSED_WON,
        (("PLAT-BUSINESS", 1), ("ANL-DASH", 1), ("ANL-DWH", 1)), 80, 30,
        reason="Price / value", notes="Analytics bundle beat two point solutions on cost.",
    ),
    DemoDeal(
        "Maple Leaf Outfitters", "Platform Starter", Stage.CLOSED_WON,
        (("PLAT-STARTER", 1), ("SVC-ONBOARD", 1)), 35, 2,
        reason="Relationship", notes="Referred by an existing customer; strong champion.",
    ),
    DemoDeal(
        "Indus Fintech", "Platform Enterprise", Stage.CLOSED_WON,
        (("PLAT-ENTERPRISE", 1), ("ANL-PREDICT", 1), ("SVC-SUPPORT", 1)), 100, 1,
        reason="Security & compliance", notes="SOC 2 report and data residency options.",
    ),
    # Closed lost.
    DemoDeal(
        "Boulangerie Numérique", "Platform Starter", Stage.CLOSED_LOST,
        (("PLAT-STARTER", 1),), 40, 12, reason="Price", notes="Budget of a single bakery.",
    ),
    DemoDeal(
        "Kumo Games", "Platform Business", Stage.CLOSED_LOST,
        (("PLAT-BUSINESS", 1),), 55, 20, reason="Chose a competitor",
        notes="Picked a tool bundled with their helpdesk.",
    ),
    DemoDeal(
        "Cape Point Wines", "Platform Starter", Stage.CLOSED_LOST,
        (("PLAT-STARTER", 1), ("SVC-ONBOARD", 1)), 30, 8, reason="No budget",
    ),
    # Negotiation: meets every closed-won requirement, ready to be closed in the admin.
    DemoDeal(
        "Bluebird Health", "Platform Business", Stage.NEGOTIATION,
        (("PLAT-BUSINESS", 1), ("SVC-ONBOARD", 1)), 45, 5, expected_close_in_days=10,
    ),
    DemoDeal(
        "Brightside Energy", "Platform Enterprise", Stage.NEGOTIATION,
        (("PLAT-ENTERPRISE", 1), ("SVC-SUPPORT", 1)), 60, 9, expected_close_in_days=14,
    ),
    DemoDeal(
        "Southern Cross Mining", "Platform Enterprise", Stage.NEGOTIATION,
        (("PLAT-ENTERPRISE", 1), ("ANL-PREDICT", 1)), 75, 3, expected_close_in_days=21,
    ),
    DemoDeal(
        "Pacific Timber Group", "Platform Business", Stage.NEGOTIATION,
        (("PLAT-BUSINESS", 1), ("PLAT-SEATS-10", 2)), 50, 7, expected_close_in_days=7,
    ),
    DemoDeal(
        "Lion City Travel", "Platform Business", Stage.NEGOTIATION,
        (("PLAT-BUSINESS", 1), ("SVC-TRAINING", 2)), 38, 2, expected_close_in_days=5,
    ),
    # Proposal.
    DemoDeal(
        "Maison Lumière", "Platform Business", Stage.PROPOSAL,
        (("PLAT-BUSINESS", 1),), 28, 6, expected_close_in_days=30,
    ),
    DemoDeal(
        "Harbourview Analytics", "Analytics bundle", Stage.PROPOSAL,
        (("ANL-DASH", 1), ("ANL-DWH", 1)), 21, 4, expected_close_in_days=35,
    ),
    DemoDeal(
        "Nordlys Shipping", "Platform Business", Stage.PROPOSAL,
        (("PLAT-BUSINESS", 1), ("SVC-ONBOARD", 1)), 33, 10, expected_close_in_days=40,
    ),
    DemoDeal(
        "Aztec Retail Group", "Platform Starter", Stage.PROPOSAL,
        (("PLAT-STARTER", 1), ("ANL-DASH", 1)), 19, 3, expected_close_in_days=45,
    ),
    # Qualified.
    DemoDeal(
        "Alpenblick Reisen", "Platform Starter", Stage.QUALIFIED,
        (("PLAT-STARTER", 1),), 14, 5, expected_close_in_days=60,
    ),
    DemoDeal(
        "Carioca Pagamentos", "Platform Starter", Stage.QUALIFIED,
        (("PLAT-STARTER", 1), ("SVC-ONBOARD", 1)), 12, 2, expected_close_in_days=75,
    ),
    DemoDeal(
        "Chai & Code Labs", "Platform Starter", Stage.QUALIFIED,
        (("PLAT-STARTER", 1),), 9, 1, expected_close_in_days=60,
    ),
    DemoDeal(
        "Tulip Systems", "Platform Business", Stage.QUALIFIED, (("PLAT-BUSINESS", 1),), 16, 6,
        expected_close_in_days=90,
    ),
    # New.
    DemoDeal("Cascade Outdoor Co.", "Platform Starter", Stage.NEW, (("PLAT-STARTER", 1),), 3),
    DemoDeal(
        "Northwind Logistics", "Predictive Insights expansion", Stage.NEW,
        (("ANL-PREDICT", 1),), 5, kind=Deal.Kind.EXPANSION,
    ),
    DemoDeal(
        "Rheinwerk Maschinenbau", "Annual renewal", Stage.NEW,
        (("PLAT-ENTERPRISE", 1),), 2, kind=Deal.Kind.RENEWAL,
    ),
    DemoDeal(
        "Verde Agro", "Additional seats", Stage.NEW, (("PLAT-SEATS-10", 2),), 4,
        kind=Deal.Kind.EXPANSION,
    ),
)
# fmt: on

# The transitions that take a new deal to each stage.
STAGE_PATHS = {
    Stage.NEW: (),
    Stage.QUALIFIED: ("qualify",),
    Stage.PROPOSAL: ("qualify", "propose"),
    Stage.NEGOTIATION: ("qualify", "propose", "negotiate"),
    Stage.CLOSED_WON: ("qualify", "propose", "negotiate", "close_won"),
    Stage.CLOSED_LOST: ("qualify", "propose", "close_lost"),
}


# Playbook --------------------------------------------------------------------------------

QUEUE_SLUG = "onboarding"
ESCALATION_QUEUE_SLUG = "escalations"
CHECK_IN_QUEUE_SLUG = "customer-success"
# Created by the growth app's migrations; the rep's referral tasks go there.
REFERRAL_QUEUE_SLUG = "referrals"
PLAYBOOK_NAME = "New customer onboarding"


def _task(
    title: str,
    body: str,
    *,
    kind: str,
    priority: int = 3,
    due_in_days: int = 2,
    queue: str = QUEUE_SLUG,
) -> dict:
    return {
        "queue": queue,
        "title": title,
        "body": body,
        "assign_to": "account_csm",
        "priority": priority,
        "task_kind": kind,
        "due_in_days": due_in_days,
    }


ENROLLMENT, AFTER_STEP = PlaybookStep.Start.ENROLLMENT, PlaybookStep.Start.AFTER_STEP
PLAYBOOK_STEPS = (
    {
        "key": "kickoff",
        "name": "Kickoff call",
        "kind": "task",
        "config": _task(
            "Kickoff call with {{ account.name }}",
            "Introduce the team, agree goals and the go-live date with {{ contact.name }}.",
            kind="onboarding_kickoff",
            priority=2,
        ),
        "start": ENROLLMENT,
    },
    {
        "key": "handoff",
        "name": "Hand-off reminder for the rep",
        "kind": "reminder",
        "config": {
            "to": "deal_owner",
            "title": "Introduce {{ csm.name }} to {{ contact.name }} at {{ account.name }}",
            "body": "{{ account.name }} is onboarding: hand the relationship over to "
            "{{ csm.name }} with a short intro email.",
        },
        "start": ENROLLMENT,
    },
    {
        "key": "welcome",
        "name": "Welcome email",
        "kind": "email",
        "config": {
            "subject": "Welcome to {{ company.name }}, {{ account.name }}",
            "body": "Hi {{ contact.name }},\n\nthank you for choosing us. Your onboarding "
            "is in the hands of {{ csm.name }}, who will reach out to schedule a kickoff "
            "call.\n\n"
            "The {{ company.name }} team",
        },
        "start": ENROLLMENT,
        "window_start": dt.time(9, 0),
        "window_end": dt.time(17, 0),
    },
    {
        "key": "day-7-check-in",
        "name": "Day-7 check-in",
        "kind": "task",
        "config": _task(
            "Day-7 check-in with {{ account.name }}",
            "How is setup going? Check the first users are active.",
            kind="onboarding_check_in",
        ),
        "start": ENROLLMENT,
        "delay_days": 7,
        "at_time": dt.time(10, 0),
        "window_start": dt.time(9, 0),
        "window_end": dt.time(17, 0),
    },
    {
        "key": "onboarding-complete",
        "name": "Onboarding complete?",
        "kind": "wait",
        "config": {"until_event": "task.completed", "for_step": "kickoff"},
        "start": ENROLLMENT,
        "delay_days": 14,
        "at_time": dt.time(10, 0),
    },
    {
        "key": "escalation",
        "name": "Escalate stalled onboarding",
        "kind": "task",
        "config": _task(
            "Onboarding stalled: {{ account.name }} has no completed kickoff after 14 days",
            "The kickoff task is still open. Call {{ contact.name }} and unblock the project.",
            kind="escalation",
            priority=1,
            due_in_days=1,
        ),
        "start": AFTER_STEP,
        "after_step": "onboarding-complete",
        "conditions": [
            {"field": "steps.onboarding-complete.outcome", "op": "==", "value": "timeout"}
        ],
    },
    {
        "key": "onboarding-done",
        "name": "Onboarding done: the customer is active",
        "kind": "set_lifecycle",
        "config": {"to": "active"},
        "start": AFTER_STEP,
        "after_step": "onboarding-complete",
        "conditions": [
            {"field": "steps.onboarding-complete.outcome", "op": "==", "value": "event"}
        ],
    },
    {
        "key": "day-30-check-in",
        "name": "Day-30 check-in",
        "kind": "task",
        "config": _task(
            "Day-30 check-in with {{ account.name }}",
            "First month done: review adoption and goals with {{ contact.name }}.",
            kind="check_in",
        ),
        "start": ENROLLMENT,
        "delay_days": 30,
        "at_time": dt.time(10, 0),
        "window_start": dt.time(9, 0),
        "window_end": dt.time(17, 0),
    },
    {
        "key": "nps_survey",
        "name": "Day-30 NPS survey",
        "kind": "survey",
        "config": {"survey": "nps", "to": "primary_contact"},
        "start": ENROLLMENT,
        "delay_days": 30,
        "at_time": dt.time(10, 0),
        "window_start": dt.time(9, 0),
        "window_end": dt.time(17, 0),
    },
    {
        "key": "nps_answer",
        "name": "NPS answer (up to 14 days)",
        "kind": "wait",
        "config": {"until_event": "survey.answered", "for_step": "nps_survey"},
        "start": AFTER_STEP,
        "after_step": "nps_survey",
        "delay_days": 14,
    },
    {
        "key": "detractor_call_back",
        "name": "Detractor: call back",
        "kind": "task",
        "config": {
            **_task(
                "Call back {{ contact.name }} at {{ account.name }}: NPS "
                "{{ context.steps.nps_answer.score }}",
                "{{ contact.name }} answered {{ context.steps.nps_answer.score }} of 10 to the "
                "day-30 NPS survey.\n\nTheir comment: "
                "“{{ context.steps.nps_answer.comment|default:'(none)' }}”\n\n"
                "Call within one business day, listen, and agree a recovery plan.",
                kind="call",
                priority=1,
                due_in_days=1,
                queue=ESCALATION_QUEUE_SLUG,
            ),
            "assign_to": "queue_manager",
            "sla_hours": 8,
        },
        "start": AFTER_STEP,
        "after_step": "nps_answer",
        "conditions": [{"field": "steps.nps_answer.band", "op": "==", "value": "detractor"}],
    },
    {
        "key": "passive_check_in",
        "name": "Passive: check-in",
        "kind": "task",
        "config": _task(
            "Check in with {{ account.name }}: NPS {{ context.steps.nps_answer.score }}",
            "{{ contact.name }} answered {{ context.steps.nps_answer.score }} of 10. Ask what "
            "would make it a 9 or 10. Their comment: “{{ context.steps.nps_answer.comment }}”",
            kind="check_in",
            due_in_days=5,
        ),
        "start": AFTER_STEP,
        "after_step": "nps_answer",
        "conditions": [{"field": "steps.nps_answer.band", "op": "==", "value": "passive"}],
    },
    {
        "key": "promoter_thanks",
        "name": "Promoter: thank you",
        "kind": "task",
        "config": _task(
            "Thank {{ contact.name }} at {{ account.name }} for their NPS "
            "{{ context.steps.nps_answer.score }}",
            "A promoter. Say thank you personally; ask whether we may quote them.",
            kind="general",
            due_in_days=3,
        ),
        "start": AFTER_STEP,
        "after_step": "nps_answer",
        "conditions": [{"field": "steps.nps_answer.band", "op": "==", "value": "promoter"}],
    },
    {
        "key": "promoter_referral",
        "name": "Promoter: ask for a referral",
        "kind": "referral_request",
        "config": {
            "queue": REFERRAL_QUEUE_SLUG,
            "to": "respondent",
            "answer_step": "nps_answer",
            "assign_to": "deal_owner",
        },
        "start": AFTER_STEP,
        "after_step": "nps_answer",
        "conditions": [{"field": "steps.nps_answer.band", "op": "==", "value": "promoter"}],
    },
    {
        "key": "day-60-expansion",
        "name": "Day-60 expansion prompt",
        "kind": "expansion_prompt",
        "config": {"queue": CHECK_IN_QUEUE_SLUG, "assign_to": "deal_owner", "open_deal": True},
        "start": ENROLLMENT,
        "delay_days": 60,
        "at_time": dt.time(10, 0),
        "window_start": dt.time(9, 0),
        "window_end": dt.time(17, 0),
    },
    {
        "key": "quarterly-check-in",
        "name": "Quarterly check-in",
        "kind": "task",
        "config": _task(
            "Quarterly check-in with {{ account.name }}",
            "Review value delivered, usage and the next quarter's goals.",
            kind="check_in",
        ),
        "start": ENROLLMENT,
        "delay_days": 90,
        "at_time": dt.time(10, 0),
        "window_start": dt.time(9, 0),
        "window_end": dt.time(17, 0),
        "repeat_every_days": 90,
        "repeat_max": 4,
    },
)


# Customer-success programme for existing customers ----------------------------------------

QBR_PLAYBOOK_NAME = "Quarterly business reviews"
QBR_DESCRIPTION = (
    "Business reviews with existing customers for a year: every 90 days for enterprise "
    "accounts, every 180 days for the others (one step each, with a condition on the "
    "account's tier, so an account that changes tier follows the other rhythm from its next "
    "review). Customers join through Enrollments → Enroll existing accounts; a won renewal "
    "enrolls the account for its next year, unless it joined within the last 180 days."
)
# Existing customers the demo enrolls through bulk enrollment, as an admin would.
QBR_BULK_FILTERS = {"lifecycle_status": [Account.Lifecycle.ACTIVE]}
QBR_SPREAD_BUSINESS_DAYS = 5


def _review(key: str, name: str, *, every_days: int, times: int, tier_op: str) -> dict:
    return {
        "key": key,
        "name": name,
        "kind": "task",
        "config": _task(
            f"{name} with {{{{ account.name }}}}",
            "Review the value delivered, adoption and open issues, and agree the goals for "
            "the next period with {{ account.name }}.",
            kind="check_in",
            due_in_days=5,
            queue=CHECK_IN_QUEUE_SLUG,
        ),
        "start": ENROLLMENT,
        "at_time": dt.time(10, 0),
        "window_start": dt.time(9, 0),
        "window_end": dt.time(17, 0),
        "repeat_every_days": every_days,
        "repeat_max": times,
        "conditions": [{"field": "account.tier", "op": tier_op, "value": Account.Tier.ENTERPRISE}],
    }


QBR_STEPS = (
    _review("enterprise-review", "Quarterly business review", every_days=90, times=4, tier_op="=="),
    _review(
        "business-review", "Half-yearly business review", every_days=180, times=2, tier_op="!="
    ),
)


# Relationship NPS: existing customers asked every 180 days ------------------------------

RNPS_PLAYBOOK_NAME = "Relationship NPS"
RNPS_DESCRIPTION = (
    "The relationship survey: active customers' primary contacts are asked the NPS "
    "question every 180 days (the contact policy still holds back anyone asked by another "
    "playbook in the last 90 days). Customers join through Enrollments → Enroll existing "
    "accounts."
)
RNPS_STEPS = (
    {
        "key": "relationship_nps",
        "name": "Relationship NPS survey",
        "kind": "survey",
        "config": {"survey": "nps", "to": "primary_contact"},
        "start": ENROLLMENT,
        "at_time": dt.time(10, 0),
        "window_start": dt.time(9, 0),
        "window_end": dt.time(17, 0),
        "repeat_every_days": 180,
        "repeat_max": 4,
    },
)
RNPS_BULK_FILTERS = {"lifecycle_status": [Account.Lifecycle.ACTIVE]}
RNPS_SPREAD_BUSINESS_DAYS = 10
# The demo's answer history: twelve months back from today.
RESPONSE_HISTORY_MONTHS = 12
HISTORY_EVERY_DAYS = 61
# How each segment's answers lean (-1 unhappier … +1 happier), so metrics differ by segment.
SEGMENT_LEAN = {
    "Software": 1,
    "Fintech": 1,
    "Professional services": 0.5,
    "Healthcare": 0.5,
    "Retail": -0.5,
    "Logistics": -1,
    "Manufacturing": -0.5,
    "Travel": -1,
}
HISTORY_COMMENTS = {
    "promoter": ["Great onboarding team.", "Reports save us hours every week.", ""],
    "passive": ["Good, but the mobile app is slow.", "Support could answer faster.", ""],
    "detractor": ["Too many bugs after the last release.", "Nobody called us back.", ""],
    "high": ["Quick and friendly support.", ""],
    "neutral": ["Fine overall.", ""],
    "low": ["The setup took far too long.", ""],
}


# Usage expansion: a product's usage crossing its threshold prompts the rep -------------

EXPANSION_PLAYBOOK_NAME = "Usage expansion"
EXPANSION_DESCRIPTION = (
    "When a customer's usage of a product crosses its threshold (80 % of licensed seats "
    "unless set per product), the deal owner gets the account's expansion suggestions and "
    "an expansion deal in Qualified with the suggested line items at list price."
)
EXPANSION_STEPS = (
    {
        "key": "usage-expansion",
        "name": "Usage expansion prompt",
        "kind": "expansion_prompt",
        "config": {"queue": CHECK_IN_QUEUE_SLUG, "assign_to": "deal_owner", "open_deal": True},
        "start": ENROLLMENT,
    },
)


# A year of closed deals ------------------------------------------------------------------
# Four deals closed each month for the last twelve, won and lost, across segments, product
# families and both reps, with their reasons: the closed-won history a leader reviews. The
# odds below make the spread realistic rather than uniform (enterprise and fintech win
# more, analytics loses on price, services seldom lose), and every deal walks its stages
# through the deal services like the others.

HISTORY_DEALS_PER_MONTH = 4
HISTORY_SEED = 12
HISTORY_FAMILY_WEIGHTS = {"Platform": 5, "Analytics": 3, "Services": 2}
HISTORY_WIN_ODDS = {"Platform": 0.55, "Analytics": 0.45, "Services": 0.75}
HISTORY_TIER_BONUS = {ENT: 0.1, MID: 0.0, SMB: -0.1}
HISTORY_SEGMENT_BONUS = {"Fintech": 0.1, "Software": 0.1, "Retail": -0.1, "Travel": -0.15}
HISTORY_PLATFORM_BY_TIER = {ENT: "PLAT-ENTERPRISE", MID: "PLAT-BUSINESS", SMB: "PLAT-STARTER"}
HISTORY_LINES = {
    "Analytics": (("ANL-DASH", 1), ("ANL-PREDICT", 1), ("ANL-DWH", 1)),
    "Services": (("SVC-ONBOARD", 1), ("SVC-SUPPORT", 1), ("SVC-TRAINING", 2)),
}
HISTORY_WIN_REASONS = {
    "Platform": {
        "Product fit": 4,
        "Relationship": 2,
        "Security & compliance": 2,
        "Price / value": 1,
    },
    "Analytics": {"Integrations": 4, "Product fit": 2, "Price / value": 1},
    "Services": {"Implementation speed": 3, "Relationship": 3, "Price / value": 1},
}
HISTORY_LOSS_REASONS = {
    "Platform": {"Chose a competitor": 3, "No decision": 2, "Missing feature": 2, "Timing": 1},
    "Analytics": {"Price": 4, "No budget": 2, "Missing feature": 1},
    "Services": {"No budget": 2, "Timing": 2, "No decision": 1},
}
HISTORY_NOTES = {
    "Product fit": "Their process mapped onto playbooks without custom work.",
    "Relationship": "The champion had used us at their last company.",
    "Security & compliance": "Cleared their security questionnaire in a week.",
    "Price / value": "Came in under the incumbent's renewal price.",
    "Integrations": "The warehouse connector replaced a nightly export.",
    "Implementation speed": "Live within the quarter they needed.",
    "Chose a competitor": "Went with the vendor bundled with their CRM.",
    "No decision": "The sponsor left; nobody picked it up.",
    "Missing feature": "Needed a native mobile app.",
    "Timing": "Frozen until the new fiscal year.",
    "Price": "Analytics priced per seat did not fit their budget.",
    "No budget": "The budget went to a reorganisation.",
}
# Won a little under a year ago, their only win: their 12-month terms end next month, so
# next month is their renewal (the account's latest contract end). The year's other deals
# leave them alone.
RENEWALS_NEXT_MONTH = (
    ("Cedar Ridge Dental", 6),
    ("Kestrel Software", 14),
    ("Baltic Amber Travel", 22),
)


def _pick(rng, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _history_lines(rng, family: str, account: DemoAccount) -> tuple[tuple[str, int], ...]:
    if family == "Platform":
        seats = (("PLAT-SEATS-10", rng.randint(1, 3)),) if account.tier != SMB else ()
        return ((HISTORY_PLATFORM_BY_TIER[account.tier], 1), *seats)
    return tuple(rng.sample(HISTORY_LINES[family], rng.randint(1, 2)))


def deal_history(today: dt.date) -> tuple[DemoDeal, ...]:
    """The year of closed deals, counted back from ``today``; the same for the same day."""
    rng = random.Random(HISTORY_SEED)
    renewing = {name for name, _ in RENEWALS_NEXT_MONTH}
    others = [a for a in ACCOUNTS if a.name not in renewing]
    customers = [a for a in others if a.lifecycle != PROSPECT]
    deals, names = [], set()

    def add(spec: DemoDeal) -> None:
        if spec.full_name not in names:
            names.add(spec.full_name)
            deals.append(spec)

    for months_ago in range(12, 0, -1):
        for _ in range(HISTORY_DEALS_PER_MONTH):
            family = _pick(rng, HISTORY_FAMILY_WEIGHTS)
            # Most closes are with customers buying more; some with prospects, who lose.
            account = rng.choice(customers if rng.random() < 0.7 else others)
            odds = (
                HISTORY_WIN_ODDS[family]
                + HISTORY_TIER_BONUS[account.tier]
                + HISTORY_SEGMENT_BONUS.get(account.segment, 0)
            )
            # A won deal makes a customer: prospects in the demo have won nothing yet.
            won = account.lifecycle != PROSPECT and rng.random() < odds
            closed_days_ago = months_ago * 30 - rng.randint(0, 27)
            closed = today - dt.timedelta(days=closed_days_ago)
            reason = _pick(rng, (HISTORY_WIN_REASONS if won else HISTORY_LOSS_REASONS)[family])
            add(
                DemoDeal(
                    account.name,
                    f"{family} ({closed:%b %Y})",
                    Stage.CLOSED_WON if won else Stage.CLOSED_LOST,
                    _history_lines(rng, family, account),
                    closed_days_ago + rng.randint(20, 110),
                    closed_days_ago,
                    kind=Deal.Kind.NEW_BUSINESS if family == "Platform" else Deal.Kind.EXPANSION,
                    reason=reason,
                    notes=HISTORY_NOTES[reason],
                )
            )
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    for name, day in RENEWALS_NEXT_MONTH:
        account = next(a for a in ACCOUNTS if a.name == name)
        closed = next_month.replace(day=day, year=next_month.year - 1)
        add(
            DemoDeal(
                name,
                "Annual subscription (12 months)",
                Stage.CLOSED_WON,
                ((HISTORY_PLATFORM_BY_TIER[account.tier], 1),),
                (today - closed).days + 45,
                (today - closed).days,
                reason="Product fit",
                notes="A 12-month term; renewal due a year after the close.",
            )
        )
    return tuple(deals)
