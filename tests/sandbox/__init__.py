"""Tests of the sandbox server and the book's HTTP client, driven through the real twilio SDK."""
