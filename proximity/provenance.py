"""Provenance of a run: the inputs (files with sha256, licence, attribution), parameters,
software versions and date, recorded beside every output.

Its own module so that every stage writing outputs (:mod:`proximity.pipeline`,
:mod:`proximity.planning`, the CLI) can record provenance without importing each other.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform

from . import __version__, config, datasets, network
from .errors import DataFileError
from .layers import on_network
from .territory import Territory

__all__ = ["SYNTHETIC_NOTE", "smes_note", "build_provenance"]

SYNTHETIC_NOTE = (
    "SMEs are SYNTHETIC: drawn by a seeded generator from commune populations and the road "
    "network (no real firm register is available); they are not real firms."
)


def smes_note(territory: Territory) -> str:
    """What the SMEs of a run are, for every output: synthetic, or a real register and its date.

    A fetched register says ``"SIRENE (<download date>)"`` (from the layer's
    ``attrs["source_label"]``, see :func:`proximity.layers.smes.resolve_smes`) and whether
    the exporter status is known.
    """
    if territory.synthetic_smes:
        return SYNTHETIC_NOTE
    smes = territory.smes
    label = smes.attrs.get("source_label", "SIRENE extract")
    known = int(smes["exporter"].notna().sum()) if "exporter" in smes else 0
    exp = (
        "exporter status unknown (SIRENE has none): exporter-based indicators are left empty"
        if known == 0
        else f"exporter status known for {known} of {len(smes)} firms (user column)"
    )
    return f"SMEs: {label}, real establishments of the INSEE register; {exp}."


def _read_sha256(key: str, territory: str, manifest_sha256: str | None) -> dict:
    """The sha256 of an input as read (verified against the manifest), or the manifest's when not installed."""
    try:
        return {"sha256": datasets.actual_sha256(key, territory), "installed": True}
    except DataFileError:  # not installed: not read by this run
        return {"sha256": manifest_sha256, "installed": False}


def build_provenance(
    territory: Territory, *, parameters: dict | None = None, study: config.Study | None = None
) -> dict:
    """Inputs (files with sha256, licence, attribution), parameters, the study, versions and date of a run.

    Parameters
    ----------
    territory : Territory
        The loaded territory whose manifest, SME parameters, facilities and network are recorded.
    parameters : dict, optional
        The run's parameters, recorded as given.
    study : proximity.config.Study, optional
        The study configuration, recorded whole (``study``).

    Returns
    -------
    dict
        A JSON-serialisable record (``tool``, ``version``, ``date``, ``territory``, ``inputs``,
        ``smes``, ``facilities_off_network``, ``network``, ``parameters``, ``study`` (when
        given), ``software``, ``attribution``).
    """
    man = territory.manifest
    files = []
    sets: dict[str, hashlib._Hash] = {}
    counts: dict[str, int] = {}
    for f in man.files:
        if f.fileset:
            sets.setdefault(f.fileset, hashlib.sha256())
            counts[f.fileset] = counts.get(f.fileset, 0) + 1
            continue
        files.append(
            {
                "key": f.key,
                "path": f.path,
                **_read_sha256(f.key, man.name, f.sha256),
                "licence": f.licence,
                "attribution": f.attribution,
                "upstream": f.upstream,
                "caveat": f.caveat,
            }
        )
    for key in sets:
        first = next(f for f in man.files if f.fileset == key)
        read = _read_sha256(key, man.name, None)
        files.append(
            {
                "key": key,
                "path": man.filesets[key],
                "files": counts[key],
                "sha256_of_listing": read.pop("sha256"),
                **read,
                "licence": first.licence,
                "attribution": first.attribution,
                "caveat": first.caveat,
            }
        )
    files.extend(
        {
            "key": f"sirene_fetched:{side.get('departement')}",
            "path": side.get("stored"),
            "sha256": side.get("sha256"),
            "licence": side.get("licence"),
            "attribution": side.get("attribution"),
            "upstream": [f.get("url") for f in side.get("files", [])],
            "downloaded": side.get("downloaded"),
            "caveat": side.get("caveat", ""),
        }
        for side in territory.smes.attrs.get("provenance", [])  # a fetched register
    )
    import geopandas
    import networkx
    import osmnx
    import scipy

    return {
        "tool": "proximity",
        "version": __version__,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "territory": {"name": man.name, "label": man.label, "crs": man.crs, **territory.params.get("territory", {})},
        "inputs": files,
        "smes": {
            **territory.params,
            "synthetic": territory.synthetic_smes,
            "source": "synthetic"
            if territory.synthetic_smes
            else territory.smes.attrs.get("source_label", "SIRENE extract"),
            "note": smes_note(territory),
        },
        "facilities_off_network": {
            name: layer.loc[~layer.index.isin(on_network(layer).index), "name"].tolist()
            for name, layer in (("gateways", territory.gateways), ("support_bodies", territory.support_bodies))
        },
        "network": network.network_summary(territory.graph),
        "parameters": parameters or {},
        **({"study": study.to_dict()} if study is not None else {}),
        "software": {
            "python": platform.python_version(),
            "geopandas": geopandas.__version__,
            "osmnx": osmnx.__version__,
            "networkx": networkx.__version__,
            "scipy": scipy.__version__,
        },
        "attribution": datasets.attributions(man.name),
    }
