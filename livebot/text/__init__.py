"""Shared Chinese text handling (normalisation, pinyin, general word frequencies) below every area."""
