import Foundation

/// Formats one line of download progress: name, bytes, a bar, percent, rate and time left.
///
///     model.safetensors   412.3 MB / 1.42 GB [=======>              ]  29%  38.1 MB/s  ETA 0:26
public struct ProgressLine: Sendable {
    /// Characters inside the brackets.
    public var barWidth: Int

    /// A formatter with a bar `barWidth` characters wide.
    public init(barWidth: Int = 24) {
        self.barWidth = barWidth
    }

    /// The line for `received` of `total` bytes, `rate` bytes per second (nil while unknown).
    public func render(name: String, received: Int64, total: Int64?, rate: Double?) -> String {
        var parts = [ProgressLine.pad(name, to: 28)]
        if let total, total > 0 {
            let fraction = min(1, max(0, Double(received) / Double(total)))
            let filled = Int(fraction * Double(barWidth))
            let bar = String(repeating: "=", count: filled) + (filled < barWidth ? ">" : "")
                + String(repeating: " ", count: max(0, barWidth - filled - 1))
            parts.append("\(ProgressLine.bytes(received)) / \(ProgressLine.bytes(total))")
            parts.append("[\(bar)]")
            parts.append(String(format: "%3d%%", Int(fraction * 100)))
        } else {
            parts.append(ProgressLine.bytes(received))
        }
        if let rate, rate > 0 {
            parts.append(ProgressLine.bytes(Int64(rate)) + "/s")
            if let total, total > received {
                parts.append("ETA " + ProgressLine.duration(Double(total - received) / rate))
            }
        }
        return parts.joined(separator: "  ")
    }

    /// `1536` → `1.5 KB`, decimal units as the Hub shows them.
    public static func bytes(_ count: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// `95` → `1:35`, `3725` → `1:02:05`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        let h = total / 3600, m = total / 60 % 60, s = total % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }

    private static func pad(_ text: String, to width: Int) -> String {
        if text.count > width { return "…" + text.suffix(width - 1) }
        return text + String(repeating: " ", count: width - text.count)
    }
}
