"""The local servers' modals (issue 14): what Discord refuses in a modal the bot opens
(``ModalInteractionCallbackRequestData``), and the state Slack sends for a submitted view,
with the refusals of its client."""

from __future__ import annotations

import pytest

from integrations.sandbox.discord.interactions import modal_problem
from integrations.sandbox.slack.interactive import _state


def discord_modal(options: int = 2, title: str = "Proposition anonyme", label: str = "Section",
                  max_length: int = 500) -> dict:
    return {"custom_id": "planbot:propose:1", "title": title, "components": [
        {"type": 18, "label": label, "component": {
            "type": 3, "custom_id": "planbot_section",
            "options": [{"label": f"Section {i}", "value": str(i)} for i in range(options)]}},
        {"type": 18, "label": "Texte", "component": {
            "type": 4, "custom_id": "planbot_text", "style": 2, "max_length": max_length}},
    ]}


@pytest.mark.parametrize(("modal", "problem"), [
    (discord_modal(), None),
    (discord_modal(options=25), None),
    (discord_modal(options=26), "options"),
    (discord_modal(options=0), "options"),
    (discord_modal(title="x" * 46), "title"),
    (discord_modal(label="x" * 46), "label"),
    (discord_modal(max_length=4001), "max_length"),
    ({"custom_id": "m", "title": "t", "components": [{"type": 3, "custom_id": "s"}]},
     "component type 3"),  # a select outside a label
])
def test_discord_refuses_a_modal_beyond_its_schema(modal, problem):
    assert modal_problem(modal) == problem


SLACK_BLOCKS = [
    {"type": "input", "block_id": "planbot_section", "element": {
        "type": "static_select", "action_id": "section",
        "options": [{"text": {"type": "plain_text", "text": "Internet"}, "value": "7"}]}},
    {"type": "input", "block_id": "planbot_text", "element": {
        "type": "plain_text_input", "action_id": "text", "max_length": 5}},
]


def test_slack_submits_a_selects_option_and_a_texts_value():
    state = _state(SLACK_BLOCKS, {("planbot_section", "section"): "7",
                                  ("planbot_text", "text"): "Oui"})
    assert state == {
        "planbot_section": {"section": {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": "Internet"}, "value": "7"}}},
        "planbot_text": {"text": {"type": "plain_text_input", "value": "Oui"}}}


@pytest.mark.parametrize(("values", "error"), [
    ({("planbot_section", "section"): "8", ("planbot_text", "text"): "Oui"}, LookupError),
    ({("planbot_section", "section"): "7", ("planbot_text", "text"): "Trop long"}, ValueError),
    ({("planbot_section", "section"): "7"}, ValueError),  # a required input left empty
])
def test_slacks_client_refuses_what_it_cannot_send(values, error):
    with pytest.raises(error):
        _state(SLACK_BLOCKS, values)
