"""Tests of the source readers (knowledge/sources/), one file per module."""
