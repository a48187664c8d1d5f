"""Formatting Kafka's storage works for every random cluster id, even one that starts with "-"."""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

from hack.localstack.services import _kafka_cluster_id, storage_format_args


def _kafka_storage_parser() -> argparse.ArgumentParser:
    """The options of ``kafka-storage format`` as its own argument parser declares them."""
    parser = argparse.ArgumentParser(prog="kafka-storage")
    commands = parser.add_subparsers(dest="command", required=True)
    fmt = commands.add_parser("format")
    fmt.add_argument("--config", "-c", required=True)
    fmt.add_argument("--cluster-id", "-t", required=True)
    return parser


def test_a_cluster_id_starting_with_a_dash_is_not_taken_for_an_option() -> None:
    parsed = _kafka_storage_parser().parse_args(
        storage_format_args("-kfZ_qAsQwK9INpPY2ZO1w", Path("/stack/kafka/server.properties"))
    )
    assert parsed.cluster_id == "-kfZ_qAsQwK9INpPY2ZO1w"
    assert parsed.config == "/stack/kafka/server.properties"


def test_cluster_ids_are_16_random_bytes() -> None:
    ids = {_kafka_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    for cluster_id in ids:
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
