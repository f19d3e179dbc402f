"""The community model: one YAML file describing a compound, its people and its devices."""

from simulators.community.model import Community, load_community

__all__ = ["Community", "load_community"]
