"""Realistic conversation material for the demo data (deterministic with a seeded RNG)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    subjects: tuple[str, ...]
    openers: tuple[str, ...]
    replies: tuple[str, ...]
    follow_ups: tuple[str, ...]


TOPICS: dict[str, Topic] = {
    "checkout": Topic(
        subjects=(
            "Checkout button does nothing",
            "Can't finish my order",
            "Stuck on the checkout page",
            "Order not going through",
        ),
        openers=(
            "I have been trying to check out for an hour. I click 'Place order' and nothing happens. "
            "This is really frustrating, I need these items by Friday.",
            "Hi, the checkout page keeps spinning after I enter my address. I don't know what to click "
            "next. Can you help?",
            "Your checkout is broken AGAIN. Third time this month!!! Fix it or I'm switching to another shop.",
            "Hello, I'm not sure if my order went through. The page went blank after payment.",
        ),
        replies=(
            "Sorry about the trouble at checkout, {first}. I've looked at your session: the order did "
            "not go through, so you have not been charged. Could you try again in a private window?",
            "Thanks for the details, {first}. We found a problem with address validation for some "
            "postcodes and fixed it an hour ago. Could you give it another try?",
        ),
        follow_ups=(
            "That worked, thank you so much!",
            "Still the same problem, the button is grey.",
            "OK, I'll try again tonight.",
        ),
    ),
    "payment": Topic(
        subjects=(
            "Charged twice for one order",
            "Hidden fee on my invoice",
            "Payment declined but money taken",
            "Unexpected fee at payment step",
        ),
        openers=(
            "I was charged twice for the same order. Please refund the duplicate charge asap.",
            "Why is there a 'service fee' on my invoice? It was not shown before payment. That's a hidden fee.",
            "My card was declined but the money left my account. What is going on?",
            "The payment step adds a fee I did not expect. It is unclear what it is for.",
        ),
        replies=(
            "I'm sorry for the confusion, {first}. I can see two authorisations; the second one will be "
            "released by your bank within 3-5 business days. I've added a note to your account.",
            "You're right that the fee should be shown earlier, {first}. I've refunded it and passed your "
            "feedback to our product team.",
        ),
        follow_ups=(
            "Thanks, that's clear now.",
            "It's been 5 days and I still don't have my money back.",
            "Great, thank you for the refund!",
        ),
    ),
    "login": Topic(
        subjects=(
            "Locked out of my account",
            "Password reset email never arrives",
            "Can't log in after update",
            "2FA code not accepted",
        ),
        openers=(
            "URGENT: I'm locked out of my account and have a client demo in an hour. Please help!",
            "I requested a password reset three times and no email arrived. Where do I find it?",
            "Since the last update I can't log in. It says 'invalid session'.",
            "My two-factor code is never accepted. I'm confused, the time on my phone is right.",
        ),
        replies=(
            "I've unlocked your account, {first}. You should be able to sign in now; let me know if not.",
            "Reset emails were delayed by our mail provider this morning, {first}. I've sent a fresh link "
            "to your address; it is valid for 30 minutes.",
        ),
        follow_ups=(
            "I'm in, thanks for the quick help!",
            "Still locked out. This is unacceptable.",
            "Got it, thank you.",
        ),
    ),
    "onboarding": Topic(
        subjects=(
            "How do I invite my team?",
            "Setting up my first project",
            "Where do I find the import?",
            "Confused by the setup wizard",
        ),
        openers=(
            "We just signed up. How do I invite my colleagues? I can't find the option anywhere.",
            "The setup wizard is unclear. I don't know what to click after connecting my calendar.",
            "Where do I import our existing contacts? The docs mention a button I can't see.",
            "Love the product so far! Quick question: can I create a project from a template?",
        ),
        replies=(
            "Welcome aboard, {first}! You can invite people under Settings → Team → Invite. I've attached "
            "a short guide.",
            "Good question, {first}. The import lives under Contacts → ⋯ → Import CSV. We're making it "
            "easier to find.",
        ),
        follow_ups=(
            "Found it, thanks!",
            "Perfect, that's exactly what I needed.",
            "The guide helped, the wizard is still confusing though.",
        ),
    ),
    "bug": Topic(
        subjects=(
            "App keeps crashing",
            "Export produces an empty file",
            "Dashboard not loading",
            "Notifications stopped working",
        ),
        openers=(
            "The app keeps crashing when I open the reports tab. It does not work at all since yesterday.",
            "Exporting to CSV gives me an empty file. I need this report for the board meeting tomorrow.",
            "The dashboard has been loading forever. Is there an outage?",
            "I stopped getting notifications a week ago. Nothing changed on my side.",
        ),
        replies=(
            "Thanks for reporting this, {first}. Our engineers reproduced the crash and a fix ships today.",
            "I'm sorry, {first}: there was a partial outage this morning. Everything is back to normal now.",
        ),
        follow_ups=(
            "Works again, thank you.",
            "Still crashing after the update.",
            "Thanks for keeping me posted.",
        ),
    ),
    "cancel": Topic(
        subjects=(
            "Cancel my subscription",
            "Downgrade request",
            "Considering switching",
            "Refund request",
        ),
        openers=(
            "Please cancel my subscription. The price went up and I'm switching to a cheaper tool.",
            "I'd like to downgrade to the basic plan. We don't use the advanced features.",
            "Honestly I'm disappointed with the last few weeks. Give me one reason not to cancel.",
            "I'd like a refund for this month; the service was down most of the week.",
        ),
        replies=(
            "I'm sorry to hear that, {first}. I've applied a 20% discount for the next three months; if "
            "you still want to cancel, just reply and I'll do it right away.",
            "Done, {first}: your plan changes at the end of the billing period. Thanks for staying with us.",
        ),
        follow_ups=(
            "Thanks, I'll stay for now.",
            "Please just cancel it.",
            "Appreciate the quick answer.",
        ),
    ),
    "praise": Topic(
        subjects=(
            "Thank you!",
            "Great support experience",
            "Feature suggestion",
            "Kudos to your team",
        ),
        openers=(
            "Just wanted to say thanks, your team solved my issue in minutes. Great service!",
            "The new reporting feature is fantastic. Could you add an export to PDF?",
            "Thanks for the quick help last week, everything works perfectly now.",
            "Love the product. A small suggestion: a dark mode would be amazing.",
        ),
        replies=(
            "Thank you so much for the kind words, {first}! I've shared them with the team.",
            "Thanks for the suggestion, {first}! I've added it to our roadmap board.",
        ),
        follow_ups=("Thanks!", "Looking forward to it.", "You're the best."),
    ),
}

TOPIC_WEIGHTS = {
    "checkout": 18,
    "payment": 18,
    "login": 16,
    "onboarding": 16,
    "bug": 16,
    "cancel": 8,
    "praise": 8,
}

INTERNAL_NOTES = (
    "Checked the logs: payment gateway timeout at 14:02 UTC.",
    "Customer is on the premium plan, handle with care.",
    "Same issue as last week's incident; linking the post-mortem.",
    "Asked engineering in #support-escalations.",
)

FIRST_NAMES = (
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Maria",
    "Lukas",
    "Sofia",
    "Noah",
    "Emma",
    "Liam",
    "Mia",
    "Ben",
    "Lea",
    "Yusuf",
    "Aiko",
    "Chen",
    "Priya",
    "Omar",
    "Ines",
    "Mateo",
    "Hana",
    "Ivan",
    "Zoe",
    "Kofi",
)
LAST_NAMES = (
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Dubois",
    "Nowak",
    "Jensen",
    "Silva",
    "Kim",
    "Patel",
    "Okafor",
    "Schmidt",
    "Novak",
    "Costa",
    "Berg",
    "Lindqvist",
    "Tanaka",
    "Ahmed",
    "Moreau",
    "Fischer",
)
COMPANIES = (
    "Northwind",
    "Contoso",
    "Initech",
    "Umbrella Retail",
    "Stark Logistics",
    "Wayne Foods",
    "Blue Harbor",
    "Greenfield Studio",
    "Pinecone Labs",
    "Riverside Clinic",
    "",
    "",
    "",
    "",
)


def pick_topic(rng: random.Random) -> tuple[str, Topic]:
    names = list(TOPIC_WEIGHTS)
    name = rng.choices(names, weights=[TOPIC_WEIGHTS[n] for n in names])[0]
    return name, TOPICS[name]
