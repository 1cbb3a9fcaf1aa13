"""Realistic feedback for the demo: CSAT comments, NPS reasons and help-page feedback.

Scores are drawn with weights close to what a decent support team sees (most CSAT answers 4 or
5, an NPS around +20); the comments fit the score they come with. Deterministic with a seeded RNG.
"""

from __future__ import annotations

import random

# CSAT 1-5: weights of each score, the share of answers that leave a comment.
CSAT_SCORE_WEIGHTS = {5: 48, 4: 26, 3: 10, 2: 7, 1: 9}
CSAT_COMMENT_SHARE = 0.45
# Share of solved or closed tickets whose customer answered the CSAT question.
CSAT_ANSWER_SHARE = 0.38

CSAT_COMMENTS: dict[str, tuple[str, ...]] = {
    "good": (
        "Quick and friendly, thank you!",
        "Problem solved within the hour. Great service.",
        "{agent} explained everything clearly and didn't make me repeat myself.",
        "Really appreciated the follow-up, the refund showed up the next day.",
        "Thanks, that was much easier than I expected.",
        "Fast answer and it actually fixed it. Thank you {agent}.",
        "Very patient and kind, thank you so much.",
        "Sorted out in one email, brilliant.",
        "Helpful and polite. The screenshots made it easy to follow.",
        "Good help, although I had to wait a day for the first answer.",
    ),
    "neutral": (
        "It's fixed now, but it took three emails to get there.",
        "OK in the end. Would have been nice to get an answer the same day.",
        "The answer was correct but felt a bit like a template.",
        "Solved, but I still don't understand why it happened in the first place.",
    ),
    "bad": (
        "Took far too long. I had to ask twice before anyone replied.",
        "The problem is not really solved, you just closed the ticket.",
        "I was sent a link to the FAQ I had already read. Not helpful.",
        "Still charged twice and nobody seems to care.",
        "Three different people answered and each one asked me for the same information.",
        "Checkout still fails on my phone. Very disappointed.",
    ),
}

# NPS 0-10: weights of each score, the share of answers with a reason, the share of customers
# who answered the survey during the demo's period.
NPS_SCORE_WEIGHTS = {10: 22, 9: 21, 8: 17, 7: 12, 6: 8, 5: 6, 4: 4, 3: 4, 2: 2, 1: 2, 0: 2}
NPS_REASON_SHARE = 0.6
NPS_ANSWER_SHARE = 0.45
NPS_ASKED_SHARE = 0.7

NPS_REASONS: dict[str, tuple[str, ...]] = {
    "promoter": (
        "Support always gets back to me quickly and actually solves things.",
        "Great product, and when something goes wrong the team is on it.",
        "I've recommended you to two colleagues already. The delivery tracking is spot on.",
        "Easy to use, fair prices, and friendly people when you need help.",
        "You refunded me without any fuss. That's why I keep coming back.",
        "The new dashboard is great and the onboarding call really helped our team.",
    ),
    "passive": (
        "Good overall, but checkout has been flaky a few times this year.",
        "The product is fine. Prices went up though.",
        "Support is nice but sometimes slow to answer on weekends.",
        "Does what I need. Would like an export to Excel.",
        "Mostly happy, the mobile app could be faster.",
    ),
    "detractor": (
        "Too many payment problems. I was charged twice last month.",
        "Cancelling my subscription was way harder than it should be.",
        "Login problems every other week, and the password reset emails arrive late.",
        "Support closes tickets before the problem is fixed.",
        "The app crashes when I export reports and it has for months.",
        "Shipping took two weeks and nobody told me why.",
    ),
}

# Help-page feedback (no score): what people write in the feedback box of the help centre.
FEEDBACK_PER_TENANT = 24
FEEDBACK_WITH_EMAIL_SHARE = 0.6
FEEDBACK_TEXTS: tuple[tuple[str, str], ...] = (
    ("help/", "I couldn't find anything about changing the delivery address after ordering."),
    ("help/", "The search doesn't find 'invoice' even though there is an article about invoices."),
    ("help/contact/", "Please add a phone number, sometimes I just want to talk to someone."),
    ("help/", "The article on resetting my password was clear and it worked. Thanks!"),
    ("help/", "Your help pages are great, found the answer in a minute."),
    ("help/", "It's confusing that refunds and returns are in two different sections."),
    ("help/contact/", "The contact form lost my message when I attached a photo. Annoying."),
    ("help/", "Would love a video on how to set up the team accounts."),
    ("help/", "The screenshots in the onboarding guide show the old design, hard to follow."),
    ("help/", "Nice and short articles, thank you."),
    (
        "help/",
        "I don't understand the difference between the Basic and the Pro plan from this page.",
    ),
    ("help/", "Two-factor setup instructions don't match what I see in the app."),
    (
        "help/contact/",
        "Chat was offline all afternoon and there was no way to know when it's back.",
    ),
    ("help/", "Very helpful explanation of the billing cycle."),
    (
        "help/",
        "Please translate the help centre into German, not everyone on our team reads English.",
    ),
    (
        "help/",
        "The cancellation article doesn't say whether I get money back for the rest of the month.",
    ),
)


def csat_score(rng: random.Random) -> int:
    return rng.choices(list(CSAT_SCORE_WEIGHTS), list(CSAT_SCORE_WEIGHTS.values()))[0]


def csat_comment(rng: random.Random, score: int, agent_first_name: str) -> str:
    if rng.random() >= CSAT_COMMENT_SHARE:
        return ""
    band = "good" if score >= 4 else "neutral" if score == 3 else "bad"
    return rng.choice(CSAT_COMMENTS[band]).format(agent=agent_first_name or "the agent")


def nps_score(rng: random.Random) -> int:
    return rng.choices(list(NPS_SCORE_WEIGHTS), list(NPS_SCORE_WEIGHTS.values()))[0]


def nps_reason(rng: random.Random, score: int) -> str:
    if rng.random() >= NPS_REASON_SHARE:
        return ""
    group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    return rng.choice(NPS_REASONS[group])
