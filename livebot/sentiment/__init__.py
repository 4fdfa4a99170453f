"""Sentiment of livestream and parent-group chat: positive, neutral or negative.

A lexicon model tuned to this audience (放心/靠谱/必须支持 versus 不放心/智商税/客服不回,
negation, degree words, sarcasm, emoji). No SnowNLP on the hot path: it costs ~1 ms per
message and 420 MB. Import ``livebot.sentiment.model`` for ``SentimentModel``.
"""
