"""Admins adding and removing articles from the chat: the real Application, the test Bot API
server (documents, getFile, file downloads, buttons) and a local web server for the links."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from pathlib import Path

import pytest

from testkit.telegram_server import JSON, FakeTelegram
from tests.conftest import ADMIN, nothing_more_sent, running_bot, wait_sent
from tests.page_server import PAGES, PageServer

# Processes and the real Application over HTTP: `make quick` leaves these out.
pytestmark = pytest.mark.slow

USER = 555
GROUP = -1001234567890
GEMPA = (
    b"---\ntitle: Gempa Cianjur\nurl: https://kabar.example/gempa-cianjur\ndate: 2022-11-21\n"
    b"site: Kabar Pesisir\n---\n# Gempa Cianjur\n\n"
    b"Gempa bermagnitudo 5,6 mengguncang Cianjur pada Senin siang.\n\n## Korban\n\n"
    b"Ratusan rumah rusak berat dan ribuan warga mengungsi ke tenda darurat.\n"
)
CABAI = (
    b"Harga Cabai Naik\n\nHarga cabai rawit di Pasar Johar naik menjadi Rp 90.000 per kilogram "
    b"pada Senin pagi.\n\nPedagang menyebut pasokan dari petani berkurang karena hujan.\n"
)


def files(directory: Path) -> dict[str, bytes]:
    """Every file below `directory`, hidden ones included, with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def by_chat(sent: list[JSON], chat: int) -> list[JSON]:
    return [m for m in sent if m["chat"]["id"] == chat]


def html(message: JSON) -> str:
    return str(message["_params"]["text"])


async def ask(tg: FakeTelegram, question: str, user: int = USER) -> JSON:
    """Ask privately and return the answer."""
    count = len(tg.sent)
    tg.push(tg.private_chat(user), tg.user(user), question)
    return (await wait_sent(tg, count + 1, seconds=20))[count]


async def test_admin_uploads_md_txt_and_html_and_each_is_answered_with_its_source(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    tg = telegram
    page = (PAGES / "berita-navigasi.html").read_bytes()
    async with running_bot(tg, corpus_dir):
        admin, me = tg.private_chat(ADMIN), tg.user(ADMIN)
        tg.push_document(admin, me, GEMPA, "Gempa Cianjur.md", mime_type="text/markdown")
        tg.push_document(admin, me, CABAI, "cabai.txt", mime_type="text/plain")
        tg.push_document(admin, me, page, "banjir-rob.html", mime_type="text/html")
        replies = [html(m) for m in await wait_sent(tg, 3, seconds=60)]
        saved = {"gempa-cianjur.md", "cabai.txt", "banjir-rob.md"}
        heads = {r.split("\n", 1)[0]: r for r in replies}
        assert set(heads) == {f"✅ Artikel baru disimpan: <code>{name}</code>" for name in saved}
        gempa = heads["✅ Artikel baru disimpan: <code>gempa-cianjur.md</code>"]
        assert (
            '<a href="https://kabar.example/gempa-cianjur">Kabar Pesisir · 21 Nov 2022</a>' in gempa
        )
        assert "1 bagian, 2 paragraf. Coba tanyakan: <i>korban</i>" in gempa
        banjir = heads["✅ Artikel baru disimpan: <code>banjir-rob.md</code>"]
        assert "<b>Banjir Rob Rendam Pesisir Semarang, 1.200 Warga Mengungsi</b>" in banjir
        assert "Kabar Pesisir · 1 Mar 2025" in banjir and "2 bagian" in banjir
        assert saved <= set(files(corpus_dir))
        assert not [name for name in files(corpus_dir) if name.startswith(".")]

        answer = await ask(tg, "gempa cianjur magnitudo berapa")
        assert "bermagnitudo 5,6" in answer["text"]
        assert html(answer).startswith(
            "<b>Gempa Cianjur</b>\n"
            '<a href="https://kabar.example/gempa-cianjur">Kabar Pesisir · 21 Nov 2022</a>\n'
        )
        assert answer["_params"]["link_preview_options"] == {"is_disabled": True}
        assert "Rp 90.000" in (await ask(tg, "berapa harga cabai rawit di pasar johar"))["text"]
        rob = await ask(tg, "berapa warga mengungsi karena banjir rob semarang")
        assert (
            "1.200 warga mengungsi" in rob["text"] and "Kabar Pesisir · 1 Mar 2025" in rob["text"]
        )

        # The same name again replaces the article, and the reply says so.
        count = len(tg.sent)
        tg.push_document(
            admin, tg.user(ADMIN, "en"), GEMPA.replace(b"5,6", b"6,2"), "gempa cianjur.md"
        )
        update = html((await wait_sent(tg, count + 1, seconds=30))[count])
        assert update.startswith("✅ Article updated (the old file was replaced): ")
        assert "Changed:\n• <code>gempa-cianjur.md</code>" in update
        assert "bermagnitudo 6,2" in (await ask(tg, "gempa cianjur magnitudo berapa"))["text"]
    downloads = tg.downloads
    assert len(downloads) == 4 and len(tg.method_calls("getFile")) == 4


async def test_bad_uploads_get_one_clear_reply_and_nothing_is_written_outside(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    tg = telegram
    outside = corpus_dir.parent
    # The bot's own state (its statistics) lives beside the corpus, in state/.
    before_outside = {
        k: v for k, v in files(outside).items() if not k.startswith(("corpus/", "state/"))
    }
    before = files(corpus_dir)
    async with running_bot(tg, corpus_dir):
        admin, me = tg.private_chat(ADMIN), tg.user(ADMIN)
        uploads = [
            (GEMPA, "../../etc/passwd.md", "✅ Artikel baru disimpan: <code>passwd.md</code>"),
            (b"Judul\n\n\xff\xfe bukan utf-8\n", "rusak.txt",
             "⚠️ Artikel tidak disimpan: artikel tidak bisa dipakai: bukan teks UTF-8 yang sah "
             "(byte 0xff di posisi 7)."),
            (b"\x00" * (30 * 1024 * 1024), "besar.txt",
             "⚠️ Artikel tidak disimpan: ukuran file 31,457,280 byte; batasnya 5,242,880."),
            (b"MZ\x90\x00", "setup.exe",
             "⚠️ Artikel tidak disimpan: hanya file .txt, .md dan .html yang bisa ditambahkan, "
             "bukan .exe."),
            (b"<html><body><p>" + b"a" * (10 * 1024 * 1024) + b"</p></body></html>", "besar.html",
             "⚠️ Artikel tidak disimpan: ukuran file 10,485,793 byte; batasnya 5,242,880."),
            (b"# Judul saja\n", "judul.md",
             "⚠️ Artikel tidak disimpan: artikel tidak bisa dipakai: tidak ada paragraf"),
            ((PAGES / "tanpa-artikel.html").read_bytes(), "indeks.html",
             "⚠️ Artikel tidak disimpan: tidak ditemukan teks artikel di dalamnya."),
        ]  # fmt: skip
        for content, name, _ in uploads:
            tg.push_document(admin, me, content, name)
        sent = await wait_sent(tg, len(uploads), seconds=60)
        await nothing_more_sent(tg, len(uploads))
    replies = sorted(html(m) for m in sent)
    for _, name, expected in uploads:
        assert len([r for r in replies if r.startswith(expected)]) == 1, (name, replies)
    after = files(corpus_dir)
    assert set(after) - set(before) == {"passwd.md"}
    assert all(after[name] == content for name, content in before.items())
    assert {
        k: v for k, v in files(outside).items() if not k.startswith(("corpus/", "state/"))
    } == before_outside
    # The large ones were refused before a byte was downloaded.
    sizes = {len(tg.files[c["file_id"]]) for c in tg.method_calls("getFile")}
    assert max(sizes) < 5 * 1024 * 1024


async def test_a_non_admins_documents_are_not_saved(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    tg = telegram
    before = files(corpus_dir)
    async with running_bot(tg, corpus_dir):
        tg.push_document(tg.private_chat(USER), tg.user(USER), GEMPA, "gempa.md")
        tg.push_document(tg.group(GROUP), tg.user(USER), GEMPA, "gempa.md")
        tg.push_document(tg.group(GROUP), tg.user(ADMIN), GEMPA, "gempa.md")  # not private
        (reply,) = await wait_sent(tg, 1)
        await nothing_more_sent(tg, 1)
    assert reply["chat"]["id"] == USER
    assert reply["text"] == "Saya hanya bisa menjawab pertanyaan berupa teks."
    assert files(corpus_dir) == before
    assert tg.method_calls("getFile") == [] and tg.downloads == []


async def test_add_saves_news_pages_with_title_date_and_headings_and_refuses_a_page_without_one(
    telegram: FakeTelegram, corpus_dir: Path, pages: PageServer
) -> None:
    tg = telegram
    async with running_bot(tg, corpus_dir, ingest_allow_private_hosts=True):
        admin, me = tg.private_chat(ADMIN), tg.user(ADMIN)
        tg.push(admin, me, f"/add {pages.base_url}/berita-navigasi")
        first = html((await wait_sent(tg, 1, seconds=30))[0])
        tg.push(admin, me, f"  {pages.base_url}/dateline-subjudul \n")  # a link alone
        second = html((await wait_sent(tg, 2, seconds=30))[1])
        tg.push(admin, me, f"/add {pages.base_url}/tanpa-artikel")
        third = html((await wait_sent(tg, 3, seconds=30))[2])
        tg.push(admin, me, "/add")
        usage = html((await wait_sent(tg, 4))[3])
        rob = await ask(tg, "berapa warga mengungsi karena banjir rob semarang")
    name = "banjir-rob-rendam-pesisir-semarang-1-200-warga-mengungsi.md"
    assert first.startswith(f"✅ Artikel baru disimpan: <code>{name}</code>\n")
    link = f'<a href="{pages.base_url}/berita-navigasi">Kabar Pesisir · 1 Mar 2025</a>'
    assert link in first and "2 bagian, 6 paragraf" in first
    assert "<code>panen-raya-padi-di-indramayu-naik-12-persen.md</code>" in second
    assert f'<a href="{pages.base_url}/dateline-subjudul">127.0.0.1 · 6 Feb 2025</a>' in second
    assert "2 bagian" in second
    assert third == "⚠️ Artikel tidak disimpan: tidak ditemukan teks artikel di dalamnya."
    assert usage.startswith("Kirim alamat artikel setelah perintah")
    saved = (corpus_dir / name).read_text("utf-8")
    assert saved.startswith(
        "---\ntitle: Banjir Rob Rendam Pesisir Semarang, 1.200 Warga Mengungsi\n"
        f"url: {pages.base_url}/berita-navigasi\ndate: '2025-03-01'\nauthor: Rina Wulandari\n"
        "site: Kabar Pesisir\n---\n# Banjir Rob"
    )
    assert "## Penyebab Rob Lebih Tinggi" in saved and "kapan tanggul" not in saved
    assert "1.200 warga mengungsi" in rob["text"] and link in html(rob)
    assert not any(name.startswith("tanpa") or "indeks" in name for name in files(corpus_dir))


async def test_a_private_address_is_refused_unless_the_setting_allows_it(
    telegram: FakeTelegram, corpus_dir: Path, pages: PageServer
) -> None:
    tg = telegram
    before = files(corpus_dir)
    async with running_bot(tg, corpus_dir):
        tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), f"/add {pages.base_url}/berita-navigasi")
        (reply,) = await wait_sent(tg, 1, seconds=30)
    assert html(reply) == (
        "⚠️ Artikel tidak disimpan: halaman tidak bisa diambil: 127.0.0.1 adalah alamat di mesin "
        "ini atau di jaringan privat."
    )
    assert pages.requests == [] and files(corpus_dir) == before


async def test_hostile_links_get_one_reply_each_and_answers_go_on_meanwhile(
    telegram: FakeTelegram, corpus_dir: Path, pages: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only 127.0.0.1 counts as public here, so a redirect to 127.0.0.2 is one to a private
    # address (and never connected to).
    def only_local(allow_private: bool) -> object:
        return lambda address: address == ipaddress.ip_address("127.0.0.1")

    monkeypatch.setattr("bot.app.address_rule", only_local)
    tg = telegram
    before = files(corpus_dir)
    port = pages.base_url.rsplit(":", 1)[1]
    links = {
        "/hang": "tidak ada jawaban lengkap dalam 2 detik",
        "/loop": "dialihkan (redirect) lebih dari 5 kali",
        "/big": "halaman lebih besar dari 5,242,880 byte",
        "/endless": "halaman lebih besar dari 5,242,880 byte",
        "/pdf": "bukan halaman web (jenis isinya application/pdf)",
        f"/redirect?to=http://127.0.0.2:{port}/berita-navigasi": "127.0.0.2 adalah alamat di mesin",
        "/missing": "situs menjawab dengan status HTTP 404",
    }
    async with running_bot(tg, corpus_dir, ingest_fetch_timeout=2):
        admin, me = tg.private_chat(ADMIN), tg.user(ADMIN)
        tg.push(admin, me, f"/add {pages.base_url}/hang")
        await asyncio.to_thread(
            tg.wait_for, lambda: ("/hang", f"127.0.0.1:{port}") in pages.requests
        )
        asked = time.monotonic()
        answer = await ask(tg, "siapa presiden ukraina")  # while the fetch hangs
        assert "Zelenskyy" in answer["text"] and answer["_at"] - asked < 1.5
        for path in list(links)[1:]:
            tg.push(admin, me, f"{pages.base_url}{path}")
        sent = await wait_sent(tg, len(links) + 1, seconds=60)
        await nothing_more_sent(tg, len(links) + 1)
    replies = [html(m) for m in by_chat(sent, ADMIN)]
    for path, reason in links.items():
        assert len([r for r in replies if reason in r]) == (2 if "lebih besar" in reason else 1), (
            path
        )
    assert all(
        r.startswith("⚠️ Artikel tidak disimpan: halaman tidak bisa diambil: ") for r in replies
    )
    assert files(corpus_dir) == before
    assert not any(path.startswith("/berita") for path, _ in pages.requests)


async def test_remove_asks_for_confirmation_then_deletes_and_reloads(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    tg = telegram
    (corpus_dir / "gempa.md").write_bytes(GEMPA)
    async with running_bot(tg, corpus_dir):
        admin, me = tg.private_chat(ADMIN), tg.user(ADMIN)
        tg.push(admin, me, "/remove")
        (listing,) = await wait_sent(tg, 1)
        assert listing["text"] == "Pilih artikel yang akan dihapus (1/1):"
        rows = listing["reply_markup"]["inline_keyboard"]
        labels = {row[0]["text"]: row[0]["callback_data"] for row in rows[:2]}
        assert [row[0]["callback_data"] for row in rows[2:]] == ["rmx:"]  # cancel
        gempa = labels.pop("🗑 Gempa Cianjur")
        ((seed_label, seed),) = labels.items()
        assert seed_label.startswith("🗑 Rusia Buka Pintu untuk Indonesia")
        # Someone else pressing the button (the list could be in a group) changes nothing.
        tg.push_callback(tg.user(USER), listing, gempa)
        await asyncio.to_thread(
            tg.wait_for, lambda: len(tg.method_calls("answerCallbackQuery")) == 1
        )
        assert tg.method_calls("answerCallbackQuery")[0]["text"].startswith("Maaf, perintah ini")
        tg.push_callback(me, listing, gempa)
        (confirm,) = await asyncio.to_thread(tg.wait_edits, 1)
        assert confirm["text"].startswith("Hapus <b>Gempa Cianjur</b> (<code>gempa.md</code>)?")
        yes, cancel = confirm["reply_markup"]["inline_keyboard"][0]
        tg.push_callback(me, listing, cancel["callback_data"])
        await asyncio.to_thread(tg.wait_edits, 2)
        assert tg.edits[1]["text"] == "Dibatalkan: tidak ada artikel yang dihapus."
        assert (corpus_dir / "gempa.md").exists()
        tg.push_callback(me, listing, yes["callback_data"])
        removed = (await asyncio.to_thread(tg.wait_edits, 3, 30))[2]
        assert removed["text"].startswith(
            "🗑 Dihapus: <code>gempa.md</code>\n\n✅ Dimuat ulang: 1 artikel"
        )
        assert "Dihapus:\n• <code>gempa.md</code>" in removed["text"]
        assert not (corpus_dir / "gempa.md").exists()
        assert "tidak membahas" in (await ask(tg, "gempa cianjur magnitudo berapa"))["text"]
        # A stale button (the article is gone) says so; the only article left cannot go.
        tg.push_callback(me, listing, yes["callback_data"])
        stale = (await asyncio.to_thread(tg.wait_edits, 4))[3]
        assert stale["text"] == "⚠️ Tidak dihapus: artikel itu sudah tidak ada."
        tg.push_callback(me, listing, seed)
        await asyncio.to_thread(tg.wait_edits, 5)
        last = tg.edits[4]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        tg.push_callback(me, listing, last)
        only = (await asyncio.to_thread(tg.wait_edits, 6))[5]
        assert only["text"] == (
            "⚠️ Tidak dihapus: ini satu-satunya artikel; tambahkan artikel lain dulu."
        )
    assert len(tg.method_calls("answerCallbackQuery")) == 7  # every press is answered


async def test_sources_with_many_articles_turns_pages_with_buttons(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    tg = telegram
    for number in range(12):
        (corpus_dir / f"berita-{number:02}.md").write_text(
            f"---\nurl: https://kabar.example/{number}\ndate: 2025-03-{number + 1:02}\n---\n"
            f"# Berita {number}\n\nIsi berita nomor {number}.\n",
            encoding="utf-8",
        )
    async with running_bot(tg, corpus_dir):
        tg.push(tg.private_chat(USER), tg.user(USER, "en"), "/sources")
        (first,) = await wait_sent(tg, 1)
        assert first["text"].startswith("📚 Articles (1/2)")
        assert '<a href="https://kabar.example/0">kabar.example · 1 Mar 2025</a>' in html(first)
        (turn,) = first["reply_markup"]["inline_keyboard"][0]
        assert (turn["text"], turn["callback_data"]) == ("Next ›", "src:1")
        tg.push_callback(tg.user(USER, "en"), first, "src:1")
        (page,) = await asyncio.to_thread(tg.wait_edits, 1)
        assert page["text"].startswith("📚 <b>Articles</b> (2/2)\n\n11. ")
        assert page["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "src:0"
        await nothing_more_sent(tg, 1)  # one message, edited in place
