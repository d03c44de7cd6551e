"""Board files (what a target is) and backend resolution (how it runs now)."""

from hil.boards.board import Board, list_boards, load_board
from hil.boards.resolve import Resolution, resolve

__all__ = ["Board", "Resolution", "list_boards", "load_board", "resolve"]
