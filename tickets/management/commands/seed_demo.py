"""Seed the demo: two tenants (acme, globex) with staff, customers and ticket histories."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Min
from django.utils import timezone
from tqdm import tqdm

from empathy_metrics.models import SurveyKind, SurveyRequest, SurveyResponse
from empathy_metrics.selectors.survey_analysis import survey_response_ids_unanalysed
from empathy_metrics.services import csat_response_submit
from empathy_metrics.services_nps import feedback_submit, nps_response_submit
from empathy_metrics.services_rollups import metrics_rollup_rebuild
from empathy_metrics.services_survey_analysis import survey_comments_analyse
from helpdesk.accounts.models import User
from helpdesk.tenancy.context import tenant_context
from helpdesk.tenancy.models import Membership, Tenant
from helpdesk.tenancy.policy import Role
from helpdesk.tenancy.services import tenant_create
from tickets import services
from tickets.demo.conversations import (
    COMPANIES,
    FIRST_NAMES,
    INTERNAL_NOTES,
    LAST_NAMES,
    pick_topic,
)
from tickets.demo.feedback import (
    CSAT_ANSWER_SHARE,
    FEEDBACK_TEXTS,
    FEEDBACK_WITH_EMAIL_SHARE,
    NPS_ANSWER_SHARE,
    NPS_ASKED_SHARE,
    csat_comment,
    csat_score,
    nps_reason,
    nps_score,
)
from tickets.models import (
    Channel,
    Customer,
    Group,
    GroupMember,
    Macro,
    Message,
    Priority,
    SlaPolicy,
    Status,
    Ticket,
)
from tickets.services.analysis import (
    analysis_deferred,
    messages_analyse_pending,
    triage_rules_install_defaults,
)
from tickets.services.macros import macro_save
from tickets.services.sla import sla_check

DEMO_PASSWORD = "helpdesk-demo"  # noqa: S105 (printed on purpose: demo logins)

TENANTS = [
    {"name": "Acme", "slug": "acme", "time_zone": "Europe/Berlin", "brand_color": "#4f46e5"},
    {"name": "Globex", "slug": "globex", "time_zone": "America/New_York", "brand_color": "#0f766e"},
]

STAFF = [
    ("admin", Role.ADMIN, "Ada Admin"),
    ("manager", Role.MANAGER, "Max Manager"),
    ("dana", Role.AGENT, "Dana Reyes"),
    ("eli", Role.AGENT, "Eli Brooks"),
    ("fatima", Role.AGENT, "Fatima Khan"),
    ("sam", Role.SPECIALIST, "Sam Specialist"),
    ("olive", Role.OBSERVER, "Olive Observer"),
]

# name, priority, company, first response, next response, resolution (business minutes)
SLA_POLICIES = [
    ("Northwind premium", "", "Northwind", 30, 60, 8 * 60),
    ("Urgent", "urgent", "", 60, 120, 8 * 60),
    ("High", "high", "", 4 * 60, 8 * 60, 3 * 8 * 60),
    ("Standard", "", "", 8 * 60, 16 * 60, 5 * 8 * 60),
]

# (name, reply with placeholders, status to set, tags to add): the canned replies agents reach for
MACROS = [
    (
        "Password reset link",
        "Hi {{customer.first_name}},\n\nYou can set a new password from the sign-in page: choose "
        '"Forgot password" and follow the link we email you (it works for one hour).\n\n'
        "Best,\n{{agent.first_name}}",
        "pending",
        ["password-reset"],
    ),
    (
        "Refund on its way",
        "Hi {{customer.first_name}},\n\nWe have refunded the charge. It shows on your statement "
        "within 5 business days.\n\nSorry for the trouble,\n{{agent.first_name}}",
        "solved",
        ["refund"],
    ),
    (
        "Asking for details",
        "Hi {{customer.first_name}},\n\nThanks for writing. Could you send a screenshot and the "
        "steps that led there? Then we can reproduce it on our side.\n\n{{agent.first_name}}",
        "pending",
        [],
    ),
]

CHANNEL_WEIGHTS = {
    Channel.EMAIL: 45,
    Channel.WEB: 25,
    Channel.CHAT: 20,
    Channel.API: 5,
    Channel.PHONE: 5,
}
PRIORITY_WEIGHTS = {Priority.LOW: 15, Priority.NORMAL: 60, Priority.HIGH: 18, Priority.URGENT: 7}


class Command(BaseCommand):
    help = "Create the demo tenants acme and globex with staff, customers and tickets (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=200)
        parser.add_argument("--tickets", type=int, default=1000)
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, customers, tickets, days, seed, no_progress, **options):
        for spec in TENANTS:
            rng = random.Random(f"{seed}-{spec['slug']}")
            tenant = self._tenant(spec)
            with tenant_context(tenant):
                existing = Ticket.objects.for_tenant(tenant).count()
            # Its own random stream: the tickets come out as they always did.
            feedback_rng = random.Random(f"{seed}-{spec['slug']}-feedback")
            if existing:
                self.stdout.write(
                    f"{spec['slug']}: already seeded ({existing} tickets), reusing it."
                )
                if not self._has_feedback(tenant):  # a demo seeded before it had feedback
                    with analysis_deferred():
                        self._seed_feedback(tenant, feedback_rng, days, no_progress)
                    self._analyse_comments(tenant)
                    metrics_rollup_rebuild(tenant=tenant)
                continue
            with analysis_deferred():  # analysed in batches below, not one by one
                self._seed_tenant(tenant, rng, customers, tickets, days, no_progress)
                self._seed_feedback(tenant, feedback_rng, days, no_progress)
            self._analyse(tenant, no_progress)
            # The dashboard's figures at once (beat keeps them up to date from here on).
            metrics_rollup_rebuild(tenant=tenant)
        self._print_logins()

    def _analyse(self, tenant: Tenant, no_progress: bool) -> None:
        """Analyse the demo's customer messages in-process (batches), so the queue shows moods;
        then install the default triage rules, which act on new messages from now on."""
        with tenant_context(tenant):
            total = Message.objects.for_tenant(tenant).filter(analysis_state="pending").count()
        with tqdm(
            total=total, desc=f"{tenant.slug}: analysis", unit="msg", disable=no_progress
        ) as bar:
            while True:
                done = messages_analyse_pending(tenant=tenant, limit=256, batch_size=64)
                bar.update(done)
                if done == 0:
                    break
        self._analyse_comments(tenant)
        triage_rules_install_defaults(tenant=tenant)

    @staticmethod
    def _analyse_comments(tenant: Tenant) -> None:
        """Survey comments waiting for analysis, however old (the periodic sweep only looks at
        the last 30 days), in batches."""
        while True:
            with tenant_context(tenant):
                waiting = survey_response_ids_unanalysed(
                    tenant=tenant, before=timezone.now(), limit=200, window=None
                )
            if (
                not waiting
                or not survey_comments_analyse(tenant=tenant, response_ids=waiting).analysed
            ):
                break

    @staticmethod
    def _has_feedback(tenant: Tenant) -> bool:
        with tenant_context(tenant):
            return SurveyResponse.objects.for_tenant(tenant).exists()

    def _seed_feedback(self, tenant: Tenant, rng, days: int, no_progress: bool) -> None:
        """What customers told us over the demo's days, through the services real answers use
        (so the comments are analysed and the rollups count them): CSAT on a share of the
        solved tickets, NPS from customers asked by email, feedback from the help page."""
        now = timezone.now()
        latest = now - timedelta(minutes=1)
        with tenant_context(tenant):
            solved = list(
                Ticket.objects.for_tenant(tenant)
                .filter(
                    status__in=(Status.SOLVED, Status.CLOSED),
                    merged_into__isnull=True,
                    solved_at__isnull=False,
                )
                .select_related("assignee")
                .order_by("id")
            )
            answered = 0
            for ticket in tqdm(
                solved, desc=f"{tenant.slug}: CSAT", unit="ticket", disable=no_progress
            ):
                # A share of the customers answer (the first few always, for a small demo),
                # within a day or so; a ticket solved just now has no answer yet.
                if rng.random() >= CSAT_ANSWER_SHARE and answered >= 3:
                    continue
                answer_at = ticket.solved_at + timedelta(hours=rng.uniform(0.2, 30))
                if answer_at >= latest:
                    continue
                agent_name = ticket.assignee.full_name if ticket.assignee else ""
                score = csat_score(rng)
                csat_response_submit(
                    tenant=tenant,
                    ticket=ticket,
                    score=score,
                    comment=csat_comment(rng, score, agent_name.split(" ")[0]),
                    channel=rng.choice(["email", "email", "status_page"]),
                    at=answer_at,
                )
                answered += 1

            # NPS: asked by email a while after a customer's first ticket; some answer.
            first_ticket = dict(
                Ticket.objects.for_tenant(tenant)
                .values("customer_id")
                .annotate(first=Min("created_at"))
                .values_list("customer_id", "first")
                .order_by()
            )
            last_ask = now - timedelta(hours=6)
            eligible = list(  # a week after their first ticket at the earliest
                Customer.objects.for_tenant(tenant)
                .filter(
                    pk__in=[
                        customer_id
                        for customer_id, first in first_ticket.items()
                        if first + timedelta(days=7) < last_ask
                    ]
                )
                .exclude(email="")
                .order_by("id")
            )
            asked = rng.sample(
                eligible,
                k=max(round(len(eligible) * NPS_ASKED_SHARE), min(len(eligible), 6)),
            )
            for index, customer in enumerate(asked):
                earliest = max(
                    first_ticket[customer.pk] + timedelta(days=7), now - timedelta(days=days)
                )
                sent_at = earliest + (last_ask - earliest) * rng.random()
                answer_at = sent_at + timedelta(hours=rng.uniform(0.1, 60))
                if index < 3:  # the first few answer (a small demo has NPS figures too)
                    answer_at = min(answer_at, sent_at + (latest - sent_at) / 2)
                elif answer_at >= latest or rng.random() >= NPS_ANSWER_SHARE:
                    answer_at = None  # not (yet) answered
                reminder_at = sent_at + timedelta(hours=48)
                request = SurveyRequest.objects.create(  # the email went out back then
                    tenant=tenant,
                    kind=SurveyKind.NPS,
                    customer=customer,
                    sent_at=sent_at,
                    reminded_at=reminder_at if answer_at is None and reminder_at < now else None,
                )
                if answer_at is not None:
                    score = nps_score(rng)
                    nps_response_submit(
                        tenant=tenant,
                        survey_request=request,
                        score=score,
                        comment=nps_reason(rng, score),
                        at=answer_at,
                    )

            # The help page's feedback box: some signed with an email address, some not.
            people = list(Customer.objects.for_tenant(tenant).exclude(email="").order_by("id"))
            base = settings.HELPDESK_BASE_URL.rstrip("/")
            for path, text in rng.sample(FEEDBACK_TEXTS, k=len(FEEDBACK_TEXTS)):
                who = (
                    rng.choice(people)
                    if people and rng.random() < FEEDBACK_WITH_EMAIL_SHARE
                    else None
                )
                feedback_submit(
                    tenant=tenant,
                    body=text,
                    email=who.email if who else "",
                    name=who.name if who else "",
                    page=f"{base}/t/{tenant.slug}/{path}",
                    at=now
                    - timedelta(days=days * rng.random() ** 1.3, minutes=rng.randint(1, 600)),
                )

    def _tenant(self, spec: dict) -> Tenant:
        slug = spec["slug"]
        admin = self._staff_user(f"admin@{slug}.test", "Ada Admin")
        tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(admin=admin, **spec)
        for handle, role, full_name in STAFF:
            user = self._staff_user(f"{handle}@{slug}.test", full_name)
            Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
        # One person in both tenants, to show the tenant switcher.
        both = self._staff_user("pat@consultants.test", "Pat Consultant")
        Membership.objects.get_or_create(
            tenant=tenant,
            user=both,
            defaults={"role": Role.MANAGER if slug == "acme" else Role.AGENT},
        )
        return tenant

    @staticmethod
    def _staff_user(email: str, full_name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=DEMO_PASSWORD, full_name=full_name
            )
        return user

    def _seed_tenant(self, tenant, rng, n_customers, n_tickets, days, no_progress) -> None:
        slug = tenant.slug
        now = timezone.now()
        staff = {
            m.user.email.split("@")[0]: m.user
            for m in Membership.objects.filter(tenant=tenant).select_related("user")
        }
        agents = [staff["dana"], staff["eli"], staff["fatima"]]
        specialist = staff["sam"]
        with tenant_context(tenant):
            tier1, _ = Group.objects.get_or_create(
                tenant=tenant, name="Tier 1 Support", defaults={"tier": 1}
            )
            tier2, _ = Group.objects.get_or_create(
                tenant=tenant, name="Tier 2 Specialists", defaults={"tier": 2}
            )
            Group.objects.for_tenant(tenant).filter(pk=tier1.pk).update(assignment="round_robin")
            for name, priority, company, first, following, resolution in SLA_POLICIES:
                SlaPolicy.objects.get_or_create(
                    tenant=tenant,
                    name=name,
                    defaults={
                        "priority": priority,
                        "match_company": company,
                        "first_response_minutes": first,
                        "next_response_minutes": following,
                        "resolution_minutes": resolution,
                    },
                )
            for name, body, status, tags in MACROS:
                if not Macro.objects.for_tenant(tenant).filter(name=name).exists():
                    macro_save(
                        tenant=tenant,
                        actor=staff["dana"],
                        name=name,
                        body=body,
                        set_status=status,
                        add_tags=tags,
                    )
            for user in agents:
                GroupMember.objects.get_or_create(tenant=tenant, group=tier1, user=user)
            GroupMember.objects.get_or_create(tenant=tenant, group=tier2, user=specialist)

            people = []
            for i in tqdm(
                range(n_customers), desc=f"{slug}: customers", disable=no_progress, unit="customer"
            ):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                email = f"{first}.{last}.{i}@example.com".lower().replace("ü", "ue")
                customer, _ = services.customer_get_or_create(
                    tenant=tenant,
                    email=email,
                    name=f"{first} {last}",
                    company=rng.choice(COMPANIES),
                    tags=rng.sample(
                        ["vip", "trial", "enterprise", "beta", "newsletter"], k=rng.randint(0, 2)
                    ),
                    at=now - timedelta(days=days + rng.uniform(0, 60)),
                )
                people.append(customer)

            channels, channel_w = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
            priorities, priority_w = list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values())
            for _ in tqdm(
                range(n_tickets), desc=f"{slug}: tickets", disable=no_progress, unit="ticket"
            ):
                self._ticket(
                    tenant,
                    rng,
                    now,
                    days,
                    people,
                    agents,
                    specialist,
                    tier1,
                    tier2,
                    rng.choices(channels, channel_w)[0],
                    rng.choices(priorities, priority_w)[0],
                )
            sla_check(tenant=tenant, now=now)  # SLA stages of the open tickets, as of now

    def _ticket(
        self, tenant, rng, now, days, people, agents, specialist, tier1, tier2, channel, priority
    ):
        age_days = days * (rng.random() ** 1.6)  # more recent tickets than old ones
        t = now - timedelta(days=age_days, minutes=rng.randint(0, 600))
        customer = rng.choice(people)
        _topic_name, topic = pick_topic(rng)
        ticket = services.ticket_create(
            tenant=tenant,
            customer=customer,
            subject=rng.choice(topic.subjects),
            body=rng.choice(topic.openers),
            channel=channel,
            priority=priority,
            at=t,
        )
        Ticket.objects.for_tenant(tenant).filter(pk=ticket.pk).update(group=tier1)

        def later(hours_low: float, hours_high: float):
            nonlocal t
            t = min(
                t + timedelta(hours=rng.uniform(hours_low, hours_high)), now - timedelta(minutes=1)
            )
            return t

        if age_days < 0.15 and rng.random() < 0.7:
            return  # brand new and untouched
        agent = rng.choice(agents)
        services.ticket_assign(
            tenant=tenant, actor=agent, ticket=ticket, assignee=agent, at=later(0.05, 2)
        )
        if rng.random() < 0.15:
            services.message_create(
                tenant=tenant,
                ticket=ticket,
                body=rng.choice(INTERNAL_NOTES),
                author_user=agent,
                is_internal=True,
                at=later(0.1, 1),
            )
        first = customer.first_name
        services.message_create(
            tenant=tenant,
            ticket=ticket,
            author_user=agent,
            at=later(0.2, 20),
            body=rng.choice(topic.replies).format(first=first),
        )
        if rng.random() < 0.12:
            services.ticket_escalate(
                tenant=tenant,
                actor=agent,
                ticket=ticket,
                group=tier2,
                reason="Needs a specialist: billing system access.",
                at=later(0.5, 4),
            )
            services.ticket_assign(
                tenant=tenant,
                actor=specialist,
                ticket=ticket,
                assignee=specialist,
                at=later(0.2, 3),
            )
            agent = specialist
        if rng.random() < 0.7:
            services.message_create(
                tenant=tenant,
                ticket=ticket,
                author_customer=customer,
                body=rng.choice(topic.follow_ups),
                at=later(1, 30),
            )
        roll = rng.random()
        if age_days < 3 and roll < 0.5:
            final = rng.choice([Status.OPEN, Status.PENDING, Status.ON_HOLD])
        elif roll < 0.85 or age_days > 20:
            final = Status.SOLVED
        else:
            final = rng.choice([Status.PENDING, Status.ON_HOLD])
        if final == Status.SOLVED:
            services.message_create(
                tenant=tenant,
                ticket=ticket,
                author_user=agent,
                at=later(0.5, 24),
                body=f"Glad we could sort this out, {first}. I'm marking this as solved; "
                "just reply if anything else comes up.",
            )
            services.ticket_set_status(
                tenant=tenant, actor=agent, ticket=ticket, status=Status.SOLVED, at=later(0, 0.1)
            )
            if rng.random() < 0.06:  # the customer writes again: reopened
                services.message_create(
                    tenant=tenant,
                    ticket=ticket,
                    author_customer=customer,
                    body="Sorry, the problem is back.",
                    at=later(2, 48),
                )
            elif age_days > 7:
                services.ticket_set_status(
                    tenant=tenant,
                    actor=None,
                    ticket=ticket,
                    status=Status.CLOSED,
                    at=later(96, 100),
                )
        elif final != Status.OPEN:
            services.ticket_set_status(
                tenant=tenant, actor=agent, ticket=ticket, status=final, at=later(0.1, 2)
            )

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS("Demo logins (password for all: " + DEMO_PASSWORD + ")")
        )
        for spec in TENANTS:
            slug = spec["slug"]
            for handle, role, _name in STAFF:
                self.stdout.write(f"  {slug:7} {Role(role).label:22} {handle}@{slug}.test")
        self.stdout.write(
            f"  {'both':7} {'manager/agent':22} pat@consultants.test  (member of acme and globex)"
        )
