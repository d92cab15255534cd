"""network.xmlsafe: XML prologs that declare entities are refused before any parser runs."""

from __future__ import annotations

import bz2
import gzip

import pytest

from netfixtures import grid_ways
from network import file_bounds, load_network
from network import read_highway_ways
from network.errors import NetworkError
from network.xmlsafe import MAX_PROLOG_BYTES, refuse_xml_entities
from osmfixtures import NESTED_ENTITIES, osm_xml

REFUSED = r"declares entities in a <!DOCTYPE>"
FIX = "do this instead"


def _check(path):
    refuse_xml_entities(path, fix=FIX)


def test_plain_osm_passes(tmp_path):
    p = tmp_path / "grid.osm"
    p.write_text(osm_xml(grid_ways(3)), encoding="utf-8")
    _check(p)
    assert read_highway_ways(p).n_ways == 6


def test_nested_entities_refused_in_one_line(tmp_path):
    p = tmp_path / "laughs.osm"
    p.write_text(osm_xml(grid_ways(3), doctype=NESTED_ENTITIES, name_entity="lol3"), encoding="utf-8")
    with pytest.raises(NetworkError, match=REFUSED) as info:
        _check(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: ") and msg.endswith(FIX) and "\n" not in msg


@pytest.mark.parametrize("reader", ["load_network", "read_highway_ways", "file_bounds"])
def test_osm_readers_refuse_before_parsing(reader, tmp_path):
    # the body is broken XML: a parser would complain about it, the prolog check speaks first
    p = tmp_path / "laughs.osm"
    p.write_text('<?xml version="1.0"?>\n' + NESTED_ENTITIES + "<osm><node id='1' lat='x'", encoding="utf-8")
    fn = {"load_network": load_network, "read_highway_ways": read_highway_ways, "file_bounds": file_bounds}[reader]
    with pytest.raises(NetworkError, match=REFUSED) as info:
        fn(p)
    assert "laughs.osm" in str(info.value) and "remove the <!DOCTYPE" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("suffix, compress", [(".osm.gz", gzip.compress), (".osm.bz2", bz2.compress)])
def test_compressed_xml_is_checked_after_decompression(suffix, compress, tmp_path):
    p = tmp_path / f"laughs{suffix}"
    p.write_bytes(compress(osm_xml(grid_ways(3), doctype=NESTED_ENTITIES).encode()))
    with pytest.raises(NetworkError, match=REFUSED):
        load_network(p, cache=False)


def test_entities_after_comments_and_processing_instructions(tmp_path):
    p = tmp_path / "hidden.osm"
    p.write_text('<?xml version="1.0"?>\n<!-- a comment with > and ] -->\n<?pi data?>\n'
                 '<!DOCTYPE osm [ <!-- ]> --> <!ENTITY e "x"> ]>\n<osm version="0.6"/>', encoding="utf-8")
    with pytest.raises(NetworkError, match=REFUSED):
        _check(p)


def test_utf16_file_is_decoded(tmp_path):
    p = tmp_path / "wide.osm"
    p.write_bytes(osm_xml(grid_ways(2), doctype=NESTED_ENTITIES).replace("UTF-8", "UTF-16").encode("utf-16"))
    with pytest.raises(NetworkError, match=REFUSED):
        _check(p)


def test_parameter_entities_and_external_dtds_are_refused(tmp_path):
    p = tmp_path / "param.osm"
    p.write_text('<!DOCTYPE osm [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]><osm/>', encoding="utf-8")
    with pytest.raises(NetworkError, match=REFUSED):
        _check(p)
    q = tmp_path / "external.osm"
    q.write_text('<?xml version="1.0"?><!DOCTYPE osm SYSTEM "http://example.com/osm.dtd"><osm/>', encoding="utf-8")
    with pytest.raises(NetworkError, match="external DTD"):
        _check(q)


def test_doctype_without_entities_and_entity_text_after_the_root_pass(tmp_path):
    p = tmp_path / "plain_doctype.osm"
    p.write_text('<?xml version="1.0"?><!DOCTYPE osm><osm version="0.6">'
                 '<node id="1" lat="40" lon="116"><tag k="note" v="&lt;!ENTITY x"/></node></osm>', encoding="utf-8")
    _check(p)


def test_overlong_prolog_is_refused(tmp_path):
    p = tmp_path / "long.osm"
    p.write_text("<?xml version='1.0'?><!-- " + "x" * MAX_PROLOG_BYTES + " --><osm/>", encoding="utf-8")
    with pytest.raises(NetworkError, match="MiB of XML declarations before the first element"):
        _check(p)
