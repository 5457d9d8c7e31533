"""People's text made inert in Markdown (``bot.markup.inert``) and read back by the Slack
conversion: it reads as typed and carries no link, tag or block marker of its own."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from bot.digests.render_slack import to_mrkdwn
from bot.markup import inert


@pytest.mark.parametrize("text", [
    "[https://www.quebec.ca/x](https://evil.example)",
    "<img src=x onerror=alert(1)> & <b>gras</b>",
    "<javascript:alert(1)> [clic](javascript:alert(1)) data:text/html,x",
    "[ref]: https://evil.example\n[clic][ref]",
    "# titre\n> citation\n- puce\n1. un\n`code` \\[",
    "<https://evil.example|https://www.quebec.ca> <!channel> <@U123>",
])
def test_inert_text_renders_as_typed_with_no_markup(text):
    html = MarkdownIt("commonmark").render(inert(text))
    for tag in ("<a ", "<img", "<b>", "<h1", "<blockquote", "<ul", "<ol", "<code"):
        assert tag not in html
    assert to_mrkdwn(inert(text)) == text.replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;")


def test_only_http_links_keep_their_scheme_and_plain_colons_stay():
    assert inert("voir https://www.quebec.ca et javascript:alert(1)") == \
        "voir https://www.quebec.ca et javascript\\:alert(1)"
    assert inert("Note : 3:4, ratio: ok") == "Note : 3:4, ratio: ok"


def test_the_slack_conversion_cannot_be_fooled_by_its_own_placeholders():
    assert to_mrkdwn("a\ue0000\ue001 \\[x\\](https://evil)") == "a0 [x](https://evil)"
    assert to_mrkdwn("[planbot](https://example.org) **gras**") == \
        "<https://example.org|planbot> *gras*"
