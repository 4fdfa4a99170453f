"""Follow-up cases: what advisors owe a parent after the stream (a rash, a damaged can, a suspected fake).

Front door for other areas: ``livebot.cases.service`` (open a case, batch alerts).
"""
