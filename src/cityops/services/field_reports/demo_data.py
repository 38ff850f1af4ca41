"""What the demo's citizens write: descriptions, results, comments (Vietnamese, as people type
them on the portal or say them on the 1022 hotline). Placeholders: {street}, {place}."""

from __future__ import annotations

# category code -> (weight in the mix, descriptions)
DESCRIPTIONS: dict[str, tuple[int, tuple[str, ...]]] = {
    "pothole": (16, (
        "Mặt đường {street} đoạn gần {place} bị sụt lún, có ổ gà sâu khoảng 20 cm, "
        "tối qua có người đi xe máy bị ngã.",
        "Ổ gà lớn giữa đường {street}, trời mưa đọng nước không thấy, xe cộ phải lách "
        "sang làn ngược chiều rất nguy hiểm.",
        "Đường {street} sau khi đào lắp ống nước không được hoàn trả mặt bằng, "
        "đá dăm văng tung tóe.",
        "Đoạn đường vào {place} bong tróc nhựa cả mảng dài, xe tải chạy qua làm hư hỏng nặng thêm.",
        "Nắp hố ga trên đường {street} bị vỡ, lún xuống thành hố, đề nghị xử lý gấp "
        "trước khi có tai nạn.",
    )),
    "streetlight": (12, (
        "Cả dãy đèn đường trên {street} từ {place} trở xuống tắt mấy hôm nay, "
        "buổi tối rất tối, học sinh đi học thêm về không an toàn.",
        "Bóng đèn cao áp trước {place} chập chờn, lúc sáng lúc tắt cả đêm.",
        "Đèn đường ở hẻm {street} bị hỏng hơn một tuần rồi, đã báo tổ dân phố nhưng chưa thấy sửa.",
        "Cột đèn trên {street} bị xe tông nghiêng, dây điện lòng thòng, rất nguy hiểm.",
    )),
    "garbage": (18, (
        "Rác thải tồn đọng ở đầu hẻm {street} gần {place} 3–4 ngày chưa thu gom, "
        "bốc mùi hôi thối, ruồi nhặng nhiều.",
        "Có người đổ trộm xà bần và rác sinh hoạt ở bãi đất trống cạnh {place}, "
        "càng ngày càng nhiều.",
        "Xe thu gom rác không đến {street} theo lịch, rác để trước nhà cả tuần.",
        "Điểm tập kết rác cạnh {place} tràn ra lòng đường, chó mèo bới tung tóe.",
        "Rác thải sau phiên chợ {place} không được dọn, nước rỉ rác chảy ra đường.",
    )),
    "flooding": (10, (
        "Mưa lớn chiều nay nước ngập sâu khoảng 40 cm trên đường {street} đoạn "
        "gần {place}, xe máy chết máy hàng loạt.",
        "Cống thoát nước trên {street} bị rác và bùn đất bít kín, mưa nhỏ cũng ngập.",
        "Nước từ rẫy cà phê chảy tràn xuống {place} kéo theo bùn đất, mương thoát nước bị lấp.",
        "Hố ga trước {place} trào nước ngược lên mỗi khi mưa, mùi hôi rất khó chịu.",
    )),
    "fallen_tree": (6, (
        "Cây xà cừ lớn trên {street} bị gãy cành sau cơn giông, cành cây đè lên dây điện.",
        "Cây bên đường gần {place} bị bật gốc, nằm chắn nửa lòng đường.",
        "Cây phượng trước {place} nghiêng hẳn ra đường, rễ nhổ lên, sợ mưa bão sẽ đổ.",
    )),
    "water_supply": (9, (
        "Khu vực {street} mất nước sinh hoạt từ sáng hôm qua đến nay, không có thông báo trước.",
        "Đường ống nước bị vỡ trước {place}, nước chảy lênh láng ra đường mấy ngày nay.",
        "Nước máy ở {street} có màu vàng đục và mùi lạ, gia đình không dám dùng để nấu ăn.",
        "Áp lực nước rất yếu vào giờ cao điểm, các hộ ở cuối {street} gần như không có nước.",
    )),
    "noise": (7, (
        "Quán karaoke gần {place} hát đến 1–2 giờ sáng, ảnh hưởng giấc ngủ của người già "
        "và trẻ nhỏ.",
        "Xưởng cưa gỗ trên {street} hoạt động cả ban đêm, tiếng ồn rất lớn.",
        "Công trình xây dựng cạnh {place} đổ bê tông ban đêm, máy trộn chạy suốt đêm.",
    )),
    "pavement": (10, (
        "Các hàng quán trên {street} lấn chiếm hết vỉa hè, người đi bộ phải đi xuống lòng đường.",
        "Vật liệu xây dựng (cát, gạch) tập kết trên vỉa hè và một phần lòng đường "
        "{street} gần {place} nhiều ngày.",
        "Bãi giữ xe tự phát chiếm hết vỉa hè trước {place}.",
        "Bán hàng rong dựng lều bạt trên vỉa hè {street}, gây mất mỹ quan và cản trở đi lại.",
    )),
    "traffic_signal": (5, (
        "Đèn tín hiệu giao thông tại ngã tư {street} – {place} không hoạt động, "
        "giờ tan tầm rất ùn tắc.",
        "Đèn đỏ ở giao lộ {street} bị lệch pha, hai hướng cùng xanh, suýt xảy ra va chạm.",
        "Biển báo giao thông ở {place} bị cây che khuất, tài xế không nhìn thấy.",
    )),
    "other": (5, (
        "Chó thả rông không rọ mõm ở khu vực {place}, đã có trẻ em bị cắn.",
        "Trụ điện viễn thông trên {street} bị nghiêng, dây cáp chằng chịt võng xuống thấp.",
        "Khói đốt rác, đốt rẫy gần {place} bay vào khu dân cư mỗi chiều.",
    )),
}

WARD_STREETS = (
    "Phan Bội Châu", "Lê Duẩn", "Nguyễn Tất Thành", "Y Jút", "Hùng Vương", "Mai Hắc Đế",
    "Trần Phú", "Lê Thánh Tông", "Ngô Quyền", "Phạm Văn Đồng", "Nguyễn Văn Cừ", "Hà Huy Tập",
    "Giải Phóng", "Lý Thường Kiệt", "Đinh Tiên Hoàng", "Y Wang", "Ama Khê", "Nguyễn Chí Thanh",
    "Võ Văn Kiệt", "Trường Chinh", "Hai Bà Trưng", "Quang Trung", "Lê Hồng Phong",
)
WARD_PLACES = (
    "chợ phường", "trường tiểu học", "trạm y tế phường", "nhà văn hóa tổ dân phố 5",
    "ngã ba cây xăng", "quán cà phê Trung Nguyên", "công viên", "UBND phường",
    "trường THCS", "nhà thờ", "chùa", "siêu thị",
)
RURAL_STREETS = (
    "liên thôn 3 – thôn 5", "quốc lộ 14", "quốc lộ 26", "quốc lộ 27", "tỉnh lộ 8",
    "liên xã", "vào buôn", "nội thôn 2", "đường đất ra rẫy",
)
RURAL_PLACES = (
    "buôn Ea Kmat", "thôn 3", "thôn Tân Lập", "buôn Ko Tam", "trường mẫu giáo", "nhà văn hóa thôn",
    "trạm y tế xã", "cầu tràn", "UBND xã", "chợ xã", "điểm trường buôn",
)

RESULTS: dict[str, tuple[str, ...]] = {
    "pothole": ("Đã vá ổ gà bằng bê tông nhựa nguội, cắm biển cảnh báo trong thời gian chờ "
                "khô.", "Đã yêu cầu đơn vị thi công hoàn trả mặt đường; đã kiểm tra, nghiệm thu."),
    "streetlight": ("Đã thay bóng đèn LED và sửa tủ điều khiển, hệ thống chiếu sáng hoạt động "
                    "bình thường.", "Đã dựng lại cột đèn và đấu nối lại dây dẫn."),
    "garbage": ("Đã thu gom, vận chuyển toàn bộ rác tồn đọng và phun chế phẩm khử mùi.",
                "Đã dọn sạch và lắp biển cấm đổ rác; tổ dân phố tăng cường nhắc nhở."),
    "flooding": ("Đã nạo vét cống, khơi thông dòng chảy; sẽ theo dõi khi có mưa lớn.",
                 "Đã thay nắp hố ga và thông tắc đoạn cống bị bít."),
    "fallen_tree": ("Đã cắt tỉa, dọn cành cây gãy và giải phóng mặt đường.",
                    "Đã hạ cây nghiêng có nguy cơ đổ và trồng cây thay thế."),
    "water_supply": ("Đã sửa chữa đoạn ống vỡ, cấp nước trở lại bình thường.",
                     "Đã súc xả đường ống; kết quả xét nghiệm mẫu nước đạt quy chuẩn."),
    "noise": ("Đã kiểm tra, lập biên bản và yêu cầu cơ sở chấm dứt gây ồn sau 22 giờ.",
              "Đã xử phạt vi phạm hành chính về tiếng ồn; cơ sở đã cam kết khắc phục."),
    "pavement": ("Đã ra quân lập lại trật tự vỉa hè, yêu cầu các hộ dọn dẹp hàng hóa.",
                 "Đã yêu cầu chủ công trình di dời vật liệu, trả lại vỉa hè thông thoáng."),
    "traffic_signal": ("Đã sửa bộ điều khiển đèn tín hiệu, cài đặt lại chu kỳ pha.",
                       "Đã cắt tỉa cây che khuất và lắp lại biển báo."),
    "other": ("Đơn vị chức năng đã kiểm tra và xử lý theo quy định.",),
}

REJECT_REASONS = (
    "Nội dung phản ánh không rõ vị trí, đề nghị người dân cung cấp thêm thông tin.",
    "Vụ việc thuộc tranh chấp dân sự giữa các hộ gia đình, đề nghị liên hệ tổ hòa giải.",
    "Kiểm tra thực tế không phát hiện sự việc như phản ánh.",
)
REOPEN_COMMENTS = (
    "Mới sửa được vài hôm lại hỏng như cũ.", "Chưa xử lý triệt để, rác vẫn còn.",
    "Chỉ làm qua loa, mưa xuống lại ngập.",
)
GOOD_COMMENTS = ("Cảm ơn các anh xử lý nhanh.", "Xử lý tốt, đường đi lại thuận tiện rồi.",
                 "Rất hài lòng.", "", "", "Cảm ơn phường.")
NEUTRAL_COMMENTS = ("Xử lý hơi chậm.", "Tạm ổn.", "")
NOTES = ("Đã gọi điện cho người phản ánh để xác nhận vị trí.",
         "Đã cử cán bộ địa chính đến kiểm tra hiện trường.",
         "Chờ bố trí kinh phí sửa chữa.", "Đã phối hợp với công an phường.")
NAMES = ("Nguyễn Văn Hùng", "Trần Thị Lan", "Lê Minh Tuấn", "Phạm Thị Hoa", "H'Hen Niê",
         "Y Sao Bkrông", "Hoàng Đức Thắng", "Võ Thu Hà", "Đặng Quốc Bảo", "Bùi Thị Mai",
         "H'Linh Êban", "Nguyễn Ngọc Ánh")
