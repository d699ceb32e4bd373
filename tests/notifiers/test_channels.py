"""The channels file: Apprise YAML and TEXT, tags, secrets from the environment, masking."""

from __future__ import annotations

import pytest

from notifiers.channels import ChannelsError, load_channels
from notifiers.masking import mask, url_secrets
from tests.notifiers.conftest import write_channels

YAML = """\
# Kênh thông báo của Sở KH&CN (Apprise YAML)
urls:
  - mailtos://kehoach@smtp.khcn.vn?to=van-phong@khcn.vn&from=kehoach@khcn.vn:
      - tag: van-phong, toan-so
        pass: ${SMTP_PASSWORD}
  - json://hook:${HOOK_PASSWORD}@127.0.0.1:8080/kehoach:
      - tag: Lanh-Dao
  - tgram://123456789:${TG_TOKEN}/-100200300:
      - tag: lanh-dao
"""


class TestLoading:
    def test_yaml_tags_and_services(self, tmp_path, monkeypatch):
        monkeypatch.setenv("SMTP_PASSWORD", "Mk@smtp/2024!")
        monkeypatch.setenv("HOOK_PASSWORD", "hook#pw:1")
        monkeypatch.setenv("TG_TOKEN", "AAHsecretTelegramToken")
        ch = load_channels(write_channels(tmp_path / "channels.yaml", YAML))
        assert sorted(ch.tags()) == ["lanh-dao", "toan-so", "van-phong"]
        assert [s.name for s in ch.for_tag("lanh-dao")] == ["JSON", "Telegram"]
        assert [s.name for s in ch.for_tag("Van-Phong")] == ["E-Mail"]  # tags compare without case, as Apprise
        assert ch.warnings == []

    def test_a_secret_is_percent_encoded_inside_a_url_and_kept_as_is_in_an_option(self, tmp_path, monkeypatch):
        monkeypatch.setenv("SMTP_PASSWORD", "Mk@smtp/2024!")
        monkeypatch.setenv("HOOK_PASSWORD", "hook#pw:1")
        monkeypatch.setenv("TG_TOKEN", "AAHsecretTelegramToken")
        ch = load_channels(write_channels(tmp_path / "channels.yaml", YAML))
        (mail,) = ch.for_tag("van-phong")
        assert mail.plugin.password == "Mk@smtp/2024!"
        hook = ch.for_tag("lanh-dao")[0]
        assert hook.plugin.password == "hook#pw:1" and hook.plugin.host == "127.0.0.1"

    def test_text_format(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HOOK_PASSWORD", "p@ss/word")
        ch = load_channels(write_channels(tmp_path / "channels.txt",
                                          "# kênh\nvan-phong, toan-so = json://u:${HOOK_PASSWORD}@127.0.0.1:9/x\n"))
        (svc,) = ch.for_tag("toan-so")
        assert svc.plugin.password == "p@ss/word"

    def test_an_unset_variable_is_reported_at_its_position(self, tmp_path, monkeypatch):
        monkeypatch.delenv("SMTP_PASSWORD", raising=False)
        monkeypatch.setenv("HOOK_PASSWORD", "x" * 8)
        monkeypatch.delenv("TG_TOKEN", raising=False)
        path = write_channels(tmp_path / "channels.yaml", YAML)
        with pytest.raises(ChannelsError) as info:
            load_channels(path)
        lines = str(info.value).splitlines()
        assert lines == [f"{path}:5:15: ${{SMTP_PASSWORD}}: environment variable SMTP_PASSWORD is not set",
                         f"{path}:8:23: ${{TG_TOKEN}}: environment variable TG_TOKEN is not set"]

    def test_a_prefect_secret_block_reference_uses_its_resolver(self, tmp_path):
        path = write_channels(tmp_path / "c.txt", "a=json://u:${secret:hook-password}@127.0.0.1:9/x\n")
        ch = load_channels(path, resolvers={"secret": lambda name: {"hook-password": "blockvalue1"}.get(name)})
        assert ch.for_tag("a")[0].plugin.password == "blockvalue1"
        with pytest.raises(ChannelsError, match="Prefect Secret block 'hook-password' could not be read"):
            load_channels(path, resolvers={"secret": lambda name: None})

    def test_dollar_dollar_is_a_literal(self, tmp_path):
        ch = load_channels(write_channels(tmp_path / "c.txt", "a=json://127.0.0.1:9/x?:note=$${HOME}\n"))
        assert ch.for_tag("a")[0].plugin.payload_extras == {"note": "${HOME}"}

    def test_entries_apprise_cannot_load_are_warnings(self, tmp_path):
        ch = load_channels(write_channels(tmp_path / "c.txt",
                                          "a=json://127.0.0.1:9/x\nb=nosuchservice://u:TopSecret99@host/\n"))
        assert list(ch.tags()) == ["a"]
        assert ch.warnings and all("TopSecret99" not in w for w in ch.warnings)

    @pytest.mark.parametrize("text, match", [
        ("", "không nạp được dịch vụ thông báo nào"),
        ("urls: [unclosed\n", "YAML không hợp lệ"),
    ])
    def test_unusable_files(self, tmp_path, text, match):
        with pytest.raises(ChannelsError, match=match):
            load_channels(write_channels(tmp_path / "c.yaml", text))

    def test_missing_file(self, tmp_path):
        with pytest.raises(ChannelsError, match="không có tệp kênh"):
            load_channels(tmp_path / "nope.yaml")


class TestBombs:
    """A small channels file cannot exhaust the machine (Apprise reads it with PyYAML and walks what it built)."""

    def bomb(self, levels: int = 20) -> str:
        lines = ['a0: &a0 ["json://127.0.0.1:9/x"]']
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
        return "\n".join(lines) + f"\nurls: *a{levels - 1}\n"

    def test_nested_aliases_are_refused_before_apprise_reads_them(self, tmp_path):
        import subprocess
        import sys

        from tests.conftest import ROOT

        path = write_channels(tmp_path / "c.yaml", self.bomb())
        assert path.stat().st_size < 1200
        # In a process of its own: before the fix it ran for a minute and died of MemoryError.
        done = subprocess.run([sys.executable, "-c", "from engine.cli.app import main; main()", "channels", "check",
                               "--channels", str(path)], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.strip() == (f"kehoach: {path}:6:45: quá nhiều alias (hơn 100,000 giá trị khi trải ra) - "
                                       "tệp kiểu 'billion laughs' bị từ chối; viết thẳng từng mục")

    def test_a_few_aliases_are_fine(self, tmp_path):
        text = "tags: &vp [van-phong]\nurls:\n  - json://127.0.0.1:9/a:\n      - tag: *vp\n"
        assert list(load_channels(write_channels(tmp_path / "c.yaml", text)).tags()) == ["van-phong"]

    def test_a_file_over_the_size_limit_is_not_read(self, tmp_path, monkeypatch):
        monkeypatch.setenv("KEHOACH_MAX_PLAN_BYTES", "1000")
        path = write_channels(tmp_path / "c.yaml", "urls:\n" + "  - json://127.0.0.1:9/a\n" * 100)
        with pytest.raises(ChannelsError, match=r"c\.yaml: tệp kênh lớn hơn 1000 byte"):
            load_channels(path)


class TestMasking:
    def test_display_hides_credentials(self, tmp_path, monkeypatch):
        monkeypatch.setenv("SMTP_PASSWORD", "Mk@smtp/2024!")
        monkeypatch.setenv("HOOK_PASSWORD", "hook#pw:1")
        monkeypatch.setenv("TG_TOKEN", "AAHsecretTelegramToken")
        ch = load_channels(write_channels(tmp_path / "channels.yaml", YAML))
        shown = " ".join(s.display for s in ch.services)
        for secret in ("Mk@smtp/2024!", "hook#pw:1", "AAHsecretTelegramToken", "hook%23pw"):
            assert secret not in shown
        assert "mailtos://kehoach:***@smtp.khcn.vn/van-phong@khcn.vn" in shown and "json://hook:***@127.0.0.1:8080/kehoach" in shown

    def test_every_known_secret_is_masked_in_any_text(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HOOK_PASSWORD", "Unique-Hook-Secret-42")
        ch = load_channels(write_channels(tmp_path / "c.txt",
                                          "a=json://u:${HOOK_PASSWORD}@127.0.0.1:9/x?+X-Api-Key=HeaderKey777\n"))
        text = "failed: Unique-Hook-Secret-42 / header HeaderKey777 / json://u:pw12345@h/x"
        assert ch.mask(text) == "failed: *** / header *** / json://u:***@h/x"
        assert "HeaderKey777" not in mask("X-Api-Key=HeaderKey777")  # registered for every later mask() too

    def test_url_secrets_are_what_apprise_hides(self):
        full = "tgram://123456789%3AAAHabcdefTOKEN/-100123/?image=no"
        private = "tgram://1...N/-100123/?image=no"
        assert "123456789:AAHabcdefTOKEN" in url_secrets(full, private)
        assert "-100123" not in url_secrets(full, private)
