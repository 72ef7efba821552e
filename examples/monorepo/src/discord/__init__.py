"""Chat bot service: turns chat messages and commands into XP and account actions."""

from discord.models import ChatMessage, CommandName, ParsedCommand, Reply
from discord.service import BotService

__all__ = ["BotService", "ChatMessage", "CommandName", "ParsedCommand", "Reply"]
