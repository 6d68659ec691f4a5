"""OAuth 2.1 resource server for the network service: metadata, token verification, claim mapping."""

from .resource import OAuthPlan, ResourceServer, build_resource_server, plan_oauth

__all__ = ["OAuthPlan", "ResourceServer", "build_resource_server", "plan_oauth"]
