"""The demo's procedure catalogue and which department handles each field.

Names and fields follow the national catalogue's wording; codes in the 9.xxxxxx range,
statutory times and fees are illustrative (see data/README.md), so they never collide with
a real catalogue loaded later. Weights say how common each procedure is in a year.
"""

from __future__ import annotations

# code, name, field, level, statutory amount, unit, online level, fee (VND), weight
DEMO_PROCEDURES: tuple[tuple[str, str, str, str, float, str, str, int, int], ...] = (
    ("9.000101", "Đăng ký khai tử", "Hộ tịch", "commune", 1, "days", "full", 0, 30),
    ("9.000102", "Đăng ký thường trú", "Đăng ký, quản lý cư trú", "commune", 7, "days",
     "full", 15000, 45),
    ("9.000103", "Cấp bản sao trích lục hộ tịch", "Hộ tịch", "commune", 8, "hours", "full",
     8000, 40),
    ("9.000104", "Chứng thực chữ ký trong giấy tờ, văn bản", "Chứng thực", "commune", 8,
     "hours", "partial", 10000, 60),
    ("9.000105", "Đăng ký biến động quyền sử dụng đất", "Đất đai", "commune", 10, "days",
     "partial", 50000, 25),
    ("9.000106", "Xác nhận tình trạng hôn nhân", "Hộ tịch", "commune", 3, "days", "full", 0,
     30),
    ("9.000107", "Giải quyết chế độ trợ cấp xã hội hằng tháng", "Bảo trợ xã hội", "commune",
     15, "days", "partial", 0, 12),
    ("9.000201", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", "Đất đai", "province", 30,
     "days", "partial", 100000, 14),
    ("9.000202", "Cấp giấy phép khai thác nước dưới đất", "Tài nguyên nước", "province", 20,
     "days", "partial", 600000, 3),
    ("9.000203", "Cấp giấy phép bán lẻ sản phẩm rượu", "Lưu thông hàng hóa trong nước",
     "province", 10, "days", "full", 1200000, 5),
    ("9.000204", "Cấp giấy phép kinh doanh dịch vụ lữ hành nội địa", "Lữ hành", "province",
     10, "days", "full", 3000000, 3),
    ("9.000205", "Công nhận trường đạt chuẩn quốc gia", "Giáo dục và Đào tạo", "province",
     20, "days", "partial", 0, 2),
    ("9.000206", "Cấp giấy phép lao động cho người lao động nước ngoài", "Việc làm",
     "province", 5, "days", "full", 400000, 3),
    ("9.000207", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
     "Thành lập và hoạt động doanh nghiệp", "province", 3, "days", "full", 50000, 20),
    ("9.000208", "Cấp giấy phép hoạt động khoa học và công nghệ", "Hoạt động khoa học và "
     "công nghệ", "province", 15, "days", "partial", 0, 2),
    ("9.000209", "Công nhận cơ sở tín ngưỡng, tôn giáo", "Tín ngưỡng, tôn giáo", "province",
     30, "days", "partial", 0, 1),
    ("9.000210", "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp", "Đường bộ",
     "province", 5, "days", "full", 135000, 25),
)

# Weights of the sample catalogue shipped in data/procedures.csv (code → weight).
SAMPLE_WEIGHTS = {"1.001612": 15, "1.001193": 50, "2.000908": 70, "1.004227": 15,
                  "1.001009": 10, "1.005386": 6, "2.001612": 18, "1.010713": 10,
                  "1.003165": 4, "1.002408": 3}

# Field (lĩnh vực) of a province-level procedure → the department that processes it
# (after the 2025 reorganisation: transport under Construction, planning under Finance).
FIELD_DEPARTMENT = {
    "Đất đai": "SO-NNMT", "Tài nguyên nước": "SO-NNMT",
    "Lưu thông hàng hóa trong nước": "SO-CT", "Lữ hành": "SO-VHTTDL",
    "Giáo dục và Đào tạo": "SO-GDDT", "Việc làm": "SO-NV",
    "Thành lập và hoạt động doanh nghiệp": "SO-TC",
    "Hoạt động khoa học và công nghệ": "SO-KHCN", "Tín ngưỡng, tôn giáo": "SO-DTTG",
    "Đường bộ": "SO-XD", "An toàn thực phẩm": "SO-YT", "Khám bệnh chữa bệnh": "SO-YT",
    "Lý lịch tư pháp": "SO-TP",
}
# Departments the demo makes chronically late (many late and overdue dossiers).
LATE_DEPARTMENTS = ("SO-NNMT", "SO-XD")

APOLOGY_REASONS = (
    "Hồ sơ cần xác minh thêm thông tin với cơ quan liên quan.",
    "Cán bộ thụ lý đi công tác, đề nghị công dân thông cảm.",
    "Hệ thống phần mềm gặp sự cố kỹ thuật.",
    "Cần lấy ý kiến thẩm định của cơ quan chuyên môn.",
)
SUPPLEMENT_NOTES = (
    "Bổ sung bản sao giấy tờ tùy thân.",
    "Bổ sung sơ đồ thửa đất.",
    "Bổ sung giấy xác nhận của tổ dân phố.",
)


def catalogue_rows() -> list[dict[str, str]]:
    """The demo procedures as rows for ``service_procedures.upsert_procedures``."""
    return [{"code": code, "name": name, "field": field, "level": level,
             "statutory_amount": str(amount), "statutory_unit": unit,
             "online_level": online, "fee": str(fee)}
            for code, name, field, level, amount, unit, online, fee, _w in DEMO_PROCEDURES]


def weights() -> dict[str, int]:
    return {**SAMPLE_WEIGHTS, **{row[0]: row[8] for row in DEMO_PROCEDURES}}
