"""Online public services monitoring (dịch vụ công): dossiers, deadlines, warning tickets."""
