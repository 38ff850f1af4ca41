"""Citizen field reports (phản ánh hiện trường): intake, routing, workflow, Open311."""
