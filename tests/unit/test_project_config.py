"""[tool.hil] settings, board and port search paths, package-data lookup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hil import config, paths
from hil.boards import list_boards, load_board
from hil.case.model_case import ModelCase
from hil.cli import main
from hil.errors import BoardFileError, BuildError, HilError
from hil.firmware.build import port_folders

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_project(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HIL_BOARD_PATH", "HIL_PORT_PATH", "HIL_BOARDS", "HIL_HOME", "HIL_MODELS"):
        monkeypatch.delenv(name, raising=False)
    yield
    config.deactivate()


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.hil]\n{table}\n")
    return tmp_path


def test_tool_hil_table_is_read_with_paths_from_the_root(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        'board = "corstone300"\nboard_path = "boards"\nport_path = ["ports"]\n'
        'models = "models"\nstore = "results.db"\ntimeout = 20\ntflm_dir = "tflm"',
    )
    project = config.load_project(root)
    assert project.boards == ("corstone300",)
    assert project.board_path == (root.resolve() / "boards",)
    assert project.port_path == (root.resolve() / "ports",)
    assert project.models == root.resolve() / "models"
    assert project.store == "results.db" and project.timeout == 20.0
    assert project.tflm_dir == root.resolve() / "tflm"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("bord = 'x'", r"unknown keys bord"),
        ("timeout = -1", r"timeout: expected seconds > 0"),
        ("timeout = true", r"timeout: expected"),
        ("board_path = 3", r"board_path: expected a folder or a list"),
        ("board = [1]", r"board: expected a board name"),
    ],
)
def test_a_wrong_key_names_the_file_and_key(tmp_path: Path, table: str, message: str) -> None:
    _project(tmp_path, table)
    with pytest.raises(config.ConfigError, match=message):
        config.load_project(tmp_path)


def test_the_nearest_pyproject_upward_is_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path, 'board = "mps2-an386"')
    deep = root / "tests" / "deep"
    deep.mkdir(parents=True)
    assert config.find_project(deep).root == root.resolve()


def test_relative_model_paths_resolve_against_the_root_then_the_models_folder(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path, 'models = "models"')
    (root / "models").mkdir()
    (root / "models" / "kws.tflite").write_bytes(b"x")
    (root / "local.tflite").write_bytes(b"x")
    config.activate(config.load_project(root))
    case = config.resolve_case(ModelCase("kws.tflite", inputs=("in.npy",)))
    assert case.model == root.resolve() / "models" / "kws.tflite"
    assert case.inputs == (root.resolve() / "in.npy",)
    assert config.resolve_case(ModelCase("local.tflite")).model == root.resolve() / "local.tflite"


def test_tool_hil_engine_is_the_projects_default_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hil.firmware.engine_choice import choose_engine

    monkeypatch.delenv("HIL_ENGINE", raising=False)
    board = load_board("mps2-an386")
    config.activate(config.load_project(_project(tmp_path, 'engine = "hil"')))
    choice = choose_engine(board)
    assert (choice.engine, choice.reason) == ("hil", "from [tool.hil] engine")
    config.activate(config.load_project(_project(tmp_path, 'engine = "nope"')))
    with pytest.raises(HilError, match="nope"):
        choose_engine(board)
    with pytest.raises(config.ConfigError, match=r"engine: expected str, got 3"):
        config.load_project(_project(tmp_path, "engine = 3"))


def test_hil_models_overrides_the_models_folder_of_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "p").mkdir()
    root = _project(tmp_path / "p", 'models = "models"')
    (elsewhere := tmp_path / "shared").mkdir()
    (elsewhere / "m.tflite").write_bytes(b"x")
    assert config.load_project(root).models == root / "models"
    monkeypatch.setenv("HIL_MODELS", str(elsewhere))
    project = config.load_project(root)
    assert project.models == elsewhere
    assert project.resolve("m.tflite") == elsewhere / "m.tflite"
    bare = tmp_path / "bare"  # no pyproject.toml: HIL_MODELS still applies
    bare.mkdir()
    assert config.find_project(bare).models == elsewhere


def test_a_project_board_overrides_a_shipped_one_and_may_extend_it(tmp_path: Path) -> None:
    root = _project(tmp_path, 'board_path = "boards"')
    (root / "boards").mkdir()
    (root / "boards" / "corstone300.toml").write_text(
        'extends = "corstone300"\ndescription = "ours"\n'
    )
    (root / "boards" / "mine.toml").write_text('extends = "mps2-an386"\nname = "mine"\n')
    config.activate(config.load_project(root))
    assert load_board("corstone300").description == "ours"
    assert load_board("corstone300").core == "cortex-m55"
    names = [b.name for b in list_boards()]
    assert names.count("corstone300") == 1 and "mine" in names and "mps2-an386" in names


def test_board_path_option_and_env_come_before_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, 'board_path = "table"')
    config.activate(config.load_project(root), board_path=(Path("option"),))
    monkeypatch.setenv("HIL_BOARD_PATH", str(tmp_path / "env"))
    assert paths.board_dirs() == [
        root.resolve() / "option",
        tmp_path / "env",
        root.resolve() / "table",
        REPO / "boards",
    ]


def test_a_project_port_is_found_and_may_use_shipped_folders(tmp_path: Path) -> None:
    root = _project(tmp_path, 'board_path = "boards"\nport_path = "ports"')
    (root / "boards").mkdir()
    (root / "boards" / "mine.toml").write_text(
        'extends = "mps2-an386"\nname = "mine"\n[firmware]\nport = "myport"\n'
    )
    (root / "ports" / "myport").mkdir(parents=True)
    (root / "ports" / "myport" / "port.toml").write_text('uses = ["cmsdk", "systick"]\n')
    config.activate(config.load_project(root))
    folders = port_folders(load_board("mine"))
    assert folders[-1] == root.resolve() / "ports" / "myport"
    assert folders[1] == REPO / "firmware" / "ports" / "cmsdk"


def test_an_unknown_port_says_where_it_looked(tmp_path: Path) -> None:
    root = _project(tmp_path, 'board_path = "boards"\nport_path = "ports"')
    (root / "boards").mkdir()
    (root / "boards" / "mine.toml").write_text(
        'extends = "mps2-an386"\n[firmware]\nport = "nope"\n'
    )
    config.activate(config.load_project(root))
    with pytest.raises(BuildError, match=r"no firmware port 'nope' in .*ports, .*firmware/ports"):
        port_folders(load_board("mine"))


def test_an_unknown_board_says_where_it_looked(tmp_path: Path) -> None:
    config.activate(config.Project(tmp_path), board_path=(Path("b"),))
    with pytest.raises(BoardFileError, match=r"no board named 'nope' .*looked in .*/b, "):
        load_board("nope")


def test_hil_boards_with_no_boards_is_an_error_saying_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HIL_BOARDS", str(tmp_path / "none"))
    assert main(["boards"]) == 2
    out = capsys.readouterr().out
    assert "no board files found" in out and str(tmp_path / "none") in out


def test_installed_data_and_per_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "_checkout", lambda: None)
    monkeypatch.delenv("HIL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "hil"
    assert paths.firmware_dir() == Path(paths.__file__).parent / "_data" / "firmware"
    monkeypatch.setenv("HIL_CACHE", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
