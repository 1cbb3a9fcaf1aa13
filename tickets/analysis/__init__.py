"""Message analysis: sentiment, support signals, keyphrases and language. No Django imports.

    from tickets.analysis import get_analyser
    result = get_analyser().analyse("URGENT: I'm locked out, please help")
    result.sentiment_label, result.sentiment_score, result.signals, result.keywords

``get_analyser()`` loads the model files once per process (worker, web process in the demo).
"""

from tickets.analysis.analyser import Analyser, Analysis, get_analyser
from tickets.analysis.signals import SIGNAL_NAMES

__all__ = ["SIGNAL_NAMES", "Analyser", "Analysis", "get_analyser"]
