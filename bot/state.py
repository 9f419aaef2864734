"""What the running app holds, under one typed aiohttp AppKey."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.dispatcher import OutboxDispatcher
from bot.processing import Processor


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    processor: Processor
    dispatcher: OutboxDispatcher
    clock: Clock


APP_STATE: web.AppKey[AppState] = web.AppKey("orderbot_state", AppState)
