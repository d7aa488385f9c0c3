"""snri-quiz: sourced SNRI facts turned into Anki decks, terminal quizzes and printable question sets."""

__version__ = "0.1.0"
