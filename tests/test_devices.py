"""One card per training job: the claim each training makes before TensorFlow starts."""

import subprocess
import sys
import time

from conftest import REPO

from ablation import devices

CLAIM = """
import sys, time
sys.path.insert(0, {scripts!r})
from pathlib import Path
from ablation import devices
env = {env!r}
card = devices.claim_card(env, Path({locks!r}), Path({driver!r}), poll_s=0.05)
print(card, env.get("CUDA_VISIBLE_DEVICES"), flush=True)
time.sleep({hold})
"""


def fake_driver(tmp_path, cards):
    driver = tmp_path / "gpus"
    driver.mkdir(parents=True)
    for i in range(cards):
        (driver / f"0000:{i:02x}:00.0").mkdir()
    return driver


def start_claim(tmp_path, driver, env=None, hold=30.0):
    code = CLAIM.format(
        scripts=str(REPO / "workflow" / "scripts"), env=env or {}, locks=str(tmp_path / "locks"),
        driver=str(driver), hold=hold,
    )  # fmt: skip
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_concurrent_trainings_each_get_their_own_card_and_a_third_waits_for_one(tmp_path):
    driver = fake_driver(tmp_path, 2)
    first, second = (start_claim(tmp_path, driver) for _ in range(2))
    try:
        cards = {first.stdout.readline().split()[1], second.stdout.readline().split()[1]}
        assert cards == {"0", "1"}
        third = start_claim(tmp_path, driver, hold=0)
        time.sleep(1.0)
        assert third.poll() is None, "a third job must wait while both cards are taken"
        second.kill()  # a job ending however it ends frees its card
        second.wait()
        assert third.stdout.readline().split()[1] in cards
        assert third.wait(timeout=10) == 0
    finally:
        for p in (first, second):
            p.kill()
            p.wait()


def test_cards_named_by_cuda_visible_devices_are_the_ones_shared(tmp_path):
    driver = fake_driver(tmp_path, 4)
    env = {"CUDA_VISIBLE_DEVICES": "2,3"}
    assert devices.visible_cards(env, driver) == ["2", "3"]
    assert devices.claim_card(env, tmp_path / "locks", driver) in ("2", "3")
    assert env["CUDA_VISIBLE_DEVICES"] in ("2", "3")


def test_a_single_card_is_claimed_too_so_two_trainings_never_share_it(tmp_path):
    driver = fake_driver(tmp_path, 1)
    first = start_claim(tmp_path, driver)
    try:
        assert first.stdout.readline().split() == ["0", "0"]
        second = start_claim(tmp_path, driver, hold=0)
        time.sleep(1.0)
        assert second.poll() is None, "the second waits for the card"
    finally:
        first.kill()
        first.wait()
    assert second.stdout.readline().split() == ["0", "0"] and second.wait(timeout=10) == 0


def test_nothing_is_claimed_without_cards_or_inside_a_slurm_job(tmp_path):
    assert devices.visible_cards({}, tmp_path / "no-driver") == []
    for cards, env in ((0, {}), (2, {"SLURM_JOB_ID": "7"})):
        driver = fake_driver(tmp_path / f"{cards}-{len(env)}", cards)
        before = dict(env)
        assert devices.claim_card(env, tmp_path / "locks", driver) is None
        assert env == before, "CUDA_VISIBLE_DEVICES is left as it was"
    assert devices.visible_cards({"CUDA_VISIBLE_DEVICES": "-1"}, driver) == []
