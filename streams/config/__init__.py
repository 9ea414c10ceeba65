"""All configuration of ledgerlink in one typed place: the settings model, the topic
names, and the two ways of filling them (the environment, a connections file)."""

from __future__ import annotations

from streams.config.environment import load_settings
from streams.config.settings import (
    LOCAL_CHARGEBEE_API_KEY,
    LOCAL_CHARGEBEE_BASE_URL,
    LOCAL_CHARGEBEE_SITE,
    LOCAL_POWEROFFICE_APPLICATION_KEY,
    LOCAL_POWEROFFICE_BASE_URL,
    LOCAL_POWEROFFICE_CLIENT_KEY,
    LOCAL_POWEROFFICE_SUBSCRIPTION_KEY,
    LOCAL_POWEROFFICE_TOKEN_URL,
    ChargebeeSettings,
    ConnectionSettings,
    PowerOfficeSettings,
    SettingNames,
    Settings,
)
from streams.config.topics import TopicNames

__all__ = [
    "LOCAL_CHARGEBEE_API_KEY",
    "LOCAL_CHARGEBEE_BASE_URL",
    "LOCAL_CHARGEBEE_SITE",
    "LOCAL_POWEROFFICE_APPLICATION_KEY",
    "LOCAL_POWEROFFICE_BASE_URL",
    "LOCAL_POWEROFFICE_CLIENT_KEY",
    "LOCAL_POWEROFFICE_SUBSCRIPTION_KEY",
    "LOCAL_POWEROFFICE_TOKEN_URL",
    "ChargebeeSettings",
    "ConnectionSettings",
    "PowerOfficeSettings",
    "SettingNames",
    "Settings",
    "TopicNames",
    "load_settings",
]
