"""Sites, sessions, run-of-show segments, cues and the scheduler."""
