"""circles.outputs.files: output folders checked before the work, written as a whole, leftovers of killed runs removed.

The disk-full and read-only cases mount a small tmpfs (root only); they skip with the reason elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from circles.errors import OutputError
from circles.outputs.files import (RUN_MARKER, OutputFiles, atomic_write_bytes, check_output_dir, clean_leftovers,
                                   replace_folder, write_files, write_run)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _hidden(folder: Path) -> list[str]:
    """Working entries (staging, aside, temporary files) left in `folder`."""
    return sorted(p.name for p in folder.iterdir() if ".circles-" in p.name and p.name != RUN_MARKER)


# ---------------------------------------------------------------------------------------------- whole runs


def test_rerun_with_fewer_outputs_leaves_only_the_new_files(tmp_path):
    out = tmp_path / "out"
    first = write_run(out, {"summary.json": b"{}\n", "access.csv": b"a\n", "districts.csv": b"d\n"})
    assert [p.name for p in first] == ["summary.json", "access.csv", "districts.csv"]
    second = write_run(out, {"summary.json": b'{"n": 2}\n', "access.csv": b"b\n"})
    assert [p.name for p in second] == ["summary.json", "access.csv"]
    assert _names(out) == [RUN_MARKER, "access.csv", "summary.json"]  # the stale districts.csv is gone
    assert (out / "access.csv").read_bytes() == b"b\n"
    assert json.loads((out / RUN_MARKER).read_text(encoding="utf-8"))["files"] == ["access.csv", "summary.json"]
    assert _hidden(tmp_path) == []


def test_identical_runs_give_identical_folders(tmp_path):
    files = {"b.csv": b"2\n", "a.csv": b"1\n"}
    write_run(tmp_path / "one", files)
    write_run(tmp_path / "two", files)
    assert {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()} == \
        {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}


def test_a_run_keeps_the_folder_permissions_and_writes_files_by_function(tmp_path):
    out = tmp_path / "out"
    write_run(out, {"a.txt": b"1"})
    os.chmod(out, 0o750)
    write_run(out, {"b.txt": lambda p: p.write_text("written by a function", encoding="utf-8")})
    assert (out / "b.txt").read_text(encoding="utf-8") == "written by a function"
    assert out.stat().st_mode & 0o777 == 0o750


def test_the_working_folder_is_written_in_place(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_run(out, {"a.csv": b"1", "b.csv": b"2"})
    monkeypatch.chdir(out)  # `circles analyze --out .`: the shell must not be left in a removed folder
    inode = out.stat().st_ino
    assert [p.name for p in write_run(".", {"a.csv": b"3"})] == ["a.csv"]
    assert out.stat().st_ino == inode and _names(out) == [RUN_MARKER, "a.csv"]
    assert Path("a.csv").read_bytes() == b"3" and _names(tmp_path) == ["out"]


def test_folders_of_earlier_runs_are_accepted(tmp_path):
    old = tmp_path / "old"  # written by an earlier version: known names, no marker
    old.mkdir()
    (old / "summary.json").write_text("{}")
    (old / "map.html").write_text("<p>")
    assert check_output_dir(old) == old
    batch = tmp_path / "batch"  # a batch run: top-level tables and district folders
    (batch / "一街道").mkdir(parents=True)
    (batch / "一街道" / "summary.csv").write_text("x")
    (batch / "一街道" / "_done.json").write_text("{}")
    (batch / "districts.xlsx").write_bytes(b"PK")
    assert check_output_dir(batch) == batch
    listed = write_run(tmp_path / "new", {"report.docx": b"doc"})[0].parent  # listed in the marker
    assert check_output_dir(listed) == listed


@pytest.mark.parametrize("extra", ["notes.docx", "一街道/notes.docx"])
def test_a_folder_with_other_files_is_refused_and_left_alone(tmp_path, extra):
    out = tmp_path / "out"
    write_run(out, {"summary.json": b"{}"})
    (out / extra).parent.mkdir(exist_ok=True)
    (out / extra).write_text("the planner's own notes")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(OutputError, match=r"^--out .*out: holds files circles did not write \(.*notes\.docx|一街道/\)"
                                          r".*choose an empty or new folder$"):
        write_run(out, {"summary.json": b"{}"})
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_out_naming_a_file_is_refused_before_any_work(tmp_path):
    target = tmp_path / "out"
    target.write_text("a file")
    with pytest.raises(OutputError) as err:
        check_output_dir(target)
    assert str(err.value) == f"--out {target}: is a file; give a folder path"
    with pytest.raises(OutputError, match="is a file"):
        write_run(target, {"a": b"1"})
    assert _names(tmp_path) == ["out"] and target.read_text() == "a file"  # nothing left behind


def test_a_path_through_a_file_is_refused_in_one_line(tmp_path):
    (tmp_path / "report.txt").write_text("x")
    with pytest.raises(OutputError) as err:
        check_output_dir(tmp_path / "report.txt" / "out", option="--out")
    assert "report.txt" in str(err.value) and "give a folder path" in str(err.value)
    assert "\n" not in str(err.value)
    assert _names(tmp_path) == ["report.txt"]


# ---------------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failure_while_staging_leaves_the_old_folder_and_no_staging(tmp_path, error):
    out = tmp_path / "out"
    write_run(out, {"a.csv": b"old\n"})

    def fail(path: Path) -> None:
        path.write_bytes(b"half")
        raise error("stop")

    with pytest.raises(error):
        write_run(out, {"a.csv": b"new\n", "b.csv": fail})
    assert _names(out) == [RUN_MARKER, "a.csv"] and (out / "a.csv").read_bytes() == b"old\n"
    assert _names(tmp_path) == ["out"]  # no staging folder


def test_bad_file_names_are_refused(tmp_path):
    for name in ("../x", "a/b", RUN_MARKER, ""):
        with pytest.raises(ValueError):
            write_run(tmp_path / "out", {name: b"1"})
    assert _hidden(tmp_path) == []


_KILLED_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from circles.outputs.files import write_run

    def block(path):
        path.write_bytes(b"partial")
        print("staged", flush=True)
        time.sleep(300)

    write_run(Path(sys.argv[1]), {"a.csv": b"1", "b.csv": block})
""")


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    write_run(out, {"a.csv": b"old\n"})
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "staged"
        stage = [p for p in tmp_path.iterdir() if ".circles-stage-" in p.name]
        assert len(stage) == 1 and (stage[0] / "b.csv").read_bytes() == b"partial"
        assert clean_leftovers(tmp_path) == [] and stage[0].exists()  # a living run's folder stays
    finally:
        proc.kill()
        proc.wait()
    assert stage[0].exists()  # killed: nothing removed it
    write_run(out, {"a.csv": b"new\n"})
    assert _names(tmp_path) == ["out"] and (out / "a.csv").read_bytes() == b"new\n"


def test_a_swap_that_stopped_half_way_is_undone(tmp_path):
    out = tmp_path / "out"
    write_run(out, {"a.csv": b"old\n"})
    aside = tmp_path / f".out.circles-old-{os.getpid() + 10**6}-dead"
    os.rename(out, aside)  # as if the process died between its two renames
    assert check_output_dir(out) == out
    assert _names(tmp_path) == ["out"] and (out / "a.csv").read_bytes() == b"old\n"
    write_run(out, {"a.csv": b"new\n"})
    aside.mkdir()  # the swap went through but the old folder was not removed yet
    (aside / "a.csv").write_bytes(b"old\n")
    check_output_dir(out)
    assert _names(tmp_path) == ["out"] and (out / "a.csv").read_bytes() == b"new\n"


@pytest.mark.parametrize("exchange", [True, False])
def test_replace_folder_swaps_whole_folders(tmp_path, exchange):
    new, target = tmp_path / "new", tmp_path / "target"
    new.mkdir()
    (new / "x").write_text("new")
    target.mkdir()
    (target / "x").write_text("old")
    (target / "y").write_text("stale")
    inode = new.stat().st_ino
    replace_folder(new, target, exchange=exchange)
    assert _names(tmp_path) == ["target"] and _names(target) == ["x"]
    assert (target / "x").read_text() == "new" and target.stat().st_ino == inode


# ---------------------------------------------------------------------------------------------- files


def test_write_files_replaces_only_the_named_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.docx").write_text("mine")  # allowed: nothing but the named files is touched
    (out / "districts.csv").write_text("old")
    write_files(out, {"districts.csv": b"new", "batch.json": b"{}"})
    assert _names(out) == ["batch.json", "districts.csv", "notes.docx"]
    assert (out / "districts.csv").read_text() == "new" and (out / "notes.docx").read_text() == "mine"
    assert _hidden(tmp_path) == [] and _hidden(out) == []


def test_write_files_updates_an_existing_marker(tmp_path):
    out = tmp_path / "out"
    write_run(out, {"a.csv": b"1"})
    with OutputFiles(out) as staged:
        staged.write_json("b.json", {"n": 1})
        staged.commit()
    assert json.loads((out / RUN_MARKER).read_text(encoding="utf-8"))["files"] == ["a.csv", "b.json"]
    assert json.loads((out / "b.json").read_text(encoding="utf-8")) == {"n": 1}


def test_atomic_write_bytes_replaces_a_file_and_refuses_a_folder_in_the_way(tmp_path):
    path = tmp_path / "sub" / "marker.json"
    atomic_write_bytes(path, b"1")
    atomic_write_bytes(path, b"22")
    assert path.read_bytes() == b"22" and _names(path.parent) == ["marker.json"]
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(OutputError, match=r"dir\.json: a folder is in the way"):
        atomic_write_bytes(tmp_path / "dir.json", b"x")
    assert _hidden(tmp_path) == []


# ---------------------------------------------------------------------------------------------- real file systems


@pytest.fixture
def tmpfs(tmp_path):
    """Mount small tmpfs file systems (root only; skips with the reason elsewhere)."""
    mounted: list[Path] = []

    def mount(name: str = "mnt", size: str = "256k") -> Path:
        where = tmp_path / name
        where.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root: the disk-full and read-only cases run as root (e.g. in CI)")
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            pytest.skip(f"mount -t tmpfs is not permitted here ({res.stderr.strip()})")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_full_disk_is_one_line_and_keeps_the_old_outputs(tmpfs):
    mnt = tmpfs(size="256k")
    out = mnt / "out"
    write_run(out, {"summary.json": b"{}\n", "access.csv": b"a\n"})
    with pytest.raises(OutputError) as err:
        write_run(out, {"summary.json": b"{}\n", "isochrones.geojson": b"x" * 400_000})
    assert str(err.value) == (f"--out {out}: the disk is full; free some space or choose a folder on another disk")
    assert _names(out) == [RUN_MARKER, "access.csv", "summary.json"]
    assert (out / "access.csv").read_bytes() == b"a\n" and _names(mnt) == ["out"]


def test_a_read_only_file_system_is_refused_before_any_work(tmpfs):
    mnt = tmpfs()
    out = mnt / "out"
    write_run(out, {"summary.json": b"{}\n"})
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    for target in (out, mnt / "new"):
        with pytest.raises(OutputError, match=rf"^--out {target}: the file system is read-only; choose a writable"):
            check_output_dir(target)
        with pytest.raises(OutputError, match="read-only"):
            write_run(target, {"summary.json": b"{}\n"})
    assert _names(mnt) == ["out"] and _names(out) == [RUN_MARKER, "summary.json"]


def test_a_mount_point_is_written_in_place(tmpfs):
    mnt = tmpfs()  # a mount point cannot be renamed: its content is replaced file by file
    (mnt / "lost+found").mkdir()  # the file system's own folder is neither refused nor removed
    write_run(mnt, {"a.csv": b"1", "districts.csv": b"2"})
    write_run(mnt, {"a.csv": b"3"})
    assert _names(mnt) == [RUN_MARKER, "a.csv", "lost+found"] and (mnt / "a.csv").read_bytes() == b"3"
    assert os.path.ismount(mnt)
