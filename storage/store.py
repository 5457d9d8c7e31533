"""Queries and idempotent writes of the central store.

Each public method is one unit of work: it opens a session, commits or rolls back, and returns
plain data (dataclasses, tuples), never ORM objects, so callers hold no session. Exactly-once
is enforced by the database's unique keys (see ``storage.models``), not only by this code.
"""

from __future__ import annotations

from storage.activity import ActivityQueries
from storage.analysis_state import AnalysisStateQueries
from storage.conversations import ConversationQueries
from storage.copies import CopyQueries
from storage.digests import DigestQueries
from storage.events import EventWrites
from storage.identity import IdentityQueries
from storage.inbox import InboxQueries
from storage.invitations import InvitationQueries
from storage.messages import MessageReads
from storage.moderation import ModerationQueries
from storage.plans import PlanQueries
from storage.privacy import PrivacyQueries, RetentionQueries
from storage.proposals import ProposalWrites
from storage.reactions import ReactionWrites
from storage.records import (
    MessageTarget,
    PlanVersionData,
    RoundData,
    RoundStatement,
    SectionData,
)
from storage.rounds import RoundQueries
from storage.threads import ThreadQueries
from storage.throttle import CopyLimitQueries
from storage.versions import VersionReads

__all__ = ["MessageTarget", "PlanVersionData", "RoundData", "RoundStatement", "SectionData",
           "Store"]


class Store(PlanQueries, RoundQueries, EventWrites, ReactionWrites, MessageReads, DigestQueries,
            ConversationQueries, ActivityQueries, AnalysisStateQueries, IdentityQueries,
            InvitationQueries, CopyLimitQueries, PrivacyQueries, RetentionQueries,
            ThreadQueries, VersionReads, ModerationQueries, ProposalWrites, InboxQueries,
            CopyQueries):
    """The central store over one SQLAlchemy ``Engine``: every query and write planbot makes,
    grouped by subject in the modules above.

    Methods raise ``sqlalchemy.exc.SQLAlchemyError`` on database failures; callers decide
    whether to retry. Nothing here knows chat platforms beyond their names and ids.
    """
