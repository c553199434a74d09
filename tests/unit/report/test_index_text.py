"""The index page's description of the programme follows the data: services, areas and spoke
posts are counted from the years' metrics, so a programme at another scale reads correctly
(at ``synthetic.scale: 3`` the index said "16 voluntary-sector services" beside "Services
active 48")."""

from __future__ import annotations

from analysis.report.index import programme_sentence


def test_the_programme_is_described_from_its_metrics():
    metrics = {
        "2015-16": {"services_active": 48, "spoke_areas_reached": 101, "spoke_posts_filled": 150},
        "2016-17": {"services_active": 47, "spoke_areas_reached": 105, "spoke_posts_filled": 149},
    }
    text = programme_sentence(metrics)
    assert text.startswith("48 voluntary-sector child sexual exploitation services")
    assert "105 new local authority areas" in text and "150 spoke posts" in text
    assert "16" not in text.replace("2016", "")


def test_without_metrics_no_number_is_made_up():
    text = programme_sentence({"2013-14": {}})
    assert text.startswith("voluntary-sector child sexual exploitation services")
    assert not any(ch.isdigit() for ch in text.split("(")[0])
