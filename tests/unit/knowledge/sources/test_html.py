import pytest

from knowledge.sources import SourceError, read_file
from tests.unit.knowledge.sources.conftest import only, write

MESSY_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Delivery &amp; returns | Larkspur</title>
<link rel="stylesheet" href="/a.css">
<link rel="Canonical" href=" https://larkspur.example/help/delivery ">
<meta property="og:url" content="https://larkspur.example/og">
<meta name="topic" content="shipping">
<style>body { color: red }</style>
<script>var banner = "<div>Accept all cookies</div>";</script>
<body>
<header class="site"><a href="/">Larkspur</a>
  <nav><ul><li>Home<li>Shop<li>Help</ul><img src="logo.png"></nav>
  <form role="search"><input name="q"><button>Search</button></form>
</header>
<div class="crumbs" role="navigation">Help &rsaquo; Delivery</div>
<main>
<article>
<header><h1>Delivery &amp; returns</h1><p class="byline">Updated 3 May</header>
<p>We deliver to the UK&nbsp;and&#160;the EU.
<p>Standard delivery is <b>free</b> over &pound;50.<br>Express costs &pound;5.95.
<img src="van.png" alt="A van" aria-hidden="true">
<h2>Delivery   options</h2>
<ul>
  <li>Standard
    <ul><li>3&ndash;5 working days<li>Free over &pound;50</ul>
  <li>Express<button>Choose</button>next day<br>order by 2&nbsp;pm
</ul>
<table>
<caption>Prices</caption>
<tr><th>Service<th><th>Price
<tr><td>Standard<td><td>&pound;3.95
<tr><td>Express</td><td></td><td><p>&pound;5.95</p><p>(weekdays)</td></tr>
</table>
<div hidden>Secret text</div>
<p style="display: none">Also hidden</p>
<span aria-hidden="true">Icon text</span>
<section><h3>Returns</h3><p>Return within 30 days &lt;free&gt;.</p></section>
</article>
</main>
<aside>Related articles</aside>
<footer>
  <div id="cookie-banner">We use cookies. <button>Accept</button>
  <p>&copy; Larkspur Ltd
</footer>
<script>track("page");</script>
<noscript>Please enable JavaScript</noscript>
</body></html>
"""


def test_messy_html_page_gives_its_main_text_only(tmp_path):
    document = only(read_file(write(tmp_path / "help" / "Delivery Page.html", MESSY_PAGE)))
    assert document.id == "delivery-page"
    assert document.title == "Delivery & returns"
    assert document.url == "https://larkspur.example/help/delivery"
    assert document.topic == "shipping"
    assert document.kind == "article"
    assert document.body == (
        "We deliver to the UK and the EU.\n\n"
        "Standard delivery is free over £50.\n\n"
        "Express costs £5.95.\n\n"
        "## Delivery options\n\n"
        "- Standard\n"
        "- 3–5 working days\n"
        "- Free over £50\n"
        "- Express next day order by 2 pm\n\n"
        "Prices\n\n"
        "Service | Price\n\n"
        "Standard | £3.95\n\n"
        "Express | £5.95 (weekdays)\n\n"
        "### Returns\n\n"
        "Return within 30 days <free>."
    )


def test_html_without_main_uses_the_body_and_the_title_element(tmp_path):
    page = (
        "<html><head><title> Opening   hours </title>"
        '<meta property="og:url" content="https://x/hours">'
        '<meta name="article-id" content="contact-hours"></head>'
        "<body><nav>Menu</nav><h2>Weekdays</h2><p>8:00&ndash;20:00<p>Closed on Sunday."
        '<div role="contentinfo">Footer text</div><div role="banner">Sale!</div>'
        "</body></html>"
    )
    document = only(read_file(write(tmp_path / "hours.htm", page)))
    assert document.id == "contact-hours"
    assert document.title == "Opening hours"
    assert document.url == "https://x/hours"
    assert document.topic == "general"
    assert document.body == "## Weekdays\n\n8:00–20:00\n\nClosed on Sunday."


def test_html_title_falls_back_to_the_stem_and_role_main_counts_as_main(tmp_path):
    page = (
        "<body><p>Outside the main text.</p>"
        '<div role="main"><p>Inside<br/>the main text.</p><h1></h1></div></body>'
    )
    document = only(read_file(write(tmp_path / "care_guide.html", page)))
    assert document.title == "Care guide"
    assert document.body == "Inside\n\nthe main text."


def test_html_void_elements_and_unclosed_tags_do_not_break_the_dropped_elements(tmp_path):
    # Every dropped element below has something unclosed or void inside it; the text after
    # it must still be read, and nothing inside it may leak out.
    page = (
        "<body>"
        "<nav><ul><li>Home<li><a href=/>Shop</a><img src=x><br><input type=text></ul></nav>"
        "<p>First paragraph"
        "<footer><p>Cookie banner<div>Accept all<hr></footer>"
        "<p>Second <b>bold</i> paragraph</b>"
        "<aside><span>Related<meta name=x content=y></aside>"
        "<ul><li>One<li>Two<p>still two</ul>"
        "<button><div>Buy now</button>"
        "<p>Third</span> paragraph</div>"
        "<svg><title>icon</title><path d='M0'/><g><text>svg text</svg>"
        "<p>After the picture.</p><script>document.write('<p>no</p>')</script>"
        "<template><p>Template text</template>"
        "<p>Intro<nav>Menu</p>still the menu</nav><p>Last."
    )
    document = only(read_file(write(tmp_path / "sloppy.html", page)))
    assert document.body == (
        "First paragraph\n\n"
        "Second bold paragraph\n\n"
        "- One\n"
        "- Two still two\n\n"
        "Third paragraph\n\n"
        "After the picture.\n\n"
        "Intro\n\n"
        "Last."
    )
    assert document.title == "Sloppy"


def test_html_unclosed_head_ends_at_the_body(tmp_path):
    page = "<html><head><title>Page</title><meta name=topic content=care><body><p>Visible text."
    document = only(read_file(write(tmp_path / "p.html", page)))
    assert (document.title, document.topic, document.body) == ("Page", "care", "Visible text.")


def test_html_page_without_text_is_a_source_error(tmp_path):
    page = "<html><head><title>Empty</title></head><body><nav>Menu</nav><script>x()</script>"
    with pytest.raises(SourceError, match=r"empty\.html: the page has no text"):
        read_file(write(tmp_path / "empty.html", page))
