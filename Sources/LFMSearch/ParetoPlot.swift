import Foundation

/// An SVG of a search report, written without dependencies: two panels, perplexity against decode
/// latency (ms/token) and against cache bytes per token. Candidates are grey dots, the Pareto front
/// (on the report's objectives) red dots, references blue squares labelled with their names.
/// Candidates without a finite perplexity or latency are left out of the panel that needs it.
public enum ParetoPlot {
    /// The SVG document.
    public static func svg(_ report: SearchReport) -> String {
        let panelWidth = 460.0, height = 400.0
        var body: [String] = []
        let front = Set(report.pareto)
        let panels: [(String, (CandidateRecord) -> Double?)] = [
            ("decode latency (ms/token)", { $0.decodeMsPerToken }),
            ("cache bytes per token (context 2048)", { $0.cacheBytesPerToken }),
        ]
        for (p, (label, x)) in panels.enumerated() {
            body.append(panel(report, front: front, xLabel: label, x: x, originX: Double(p) * panelWidth,
                              width: panelWidth, height: height))
        }
        let width = panelWidth * Double(panels.count)
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
        <rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" fill="white"/>
        \(body.joined(separator: "\n"))
        </svg>

        """
    }

    /// Writes the SVG to `url`.
    public static func write(_ report: SearchReport, to url: URL) throws {
        do { try Data(svg(report).utf8).write(to: url, options: .atomic) } catch {
            throw SearchError.writeFailed(path: url.path, detail: error.localizedDescription)
        }
    }

    static func panel(_ report: SearchReport, front: Set<Int>, xLabel: String, x: (CandidateRecord) -> Double?,
                      originX: Double, width: Double, height: Double) -> String {
        let left = originX + 60, right = originX + width - 20, top = 30.0, bottom = height - 50
        func finite(_ r: CandidateRecord) -> (Double, Double)? {
            guard let xv = x(r), xv.isFinite, let yv = r.perplexity, yv.isFinite else { return nil }
            return (xv, yv)
        }
        let candidatePoints = report.candidates.compactMap { r in finite(r).map { (r.index, $0.0, $0.1) } }
        let referencePoints = report.references.compactMap { r in finite(r).map { (r.name ?? "ref", $0.0, $0.1) } }
        let xs = candidatePoints.map(\.1) + referencePoints.map(\.1), ys = candidatePoints.map(\.2) + referencePoints.map(\.2)
        let (x0, x1) = padded(xs), (y0, y1) = padded(ys)
        func sx(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * (right - left) }
        func sy(_ v: Double) -> Double { bottom - (v - y0) / (y1 - y0) * (bottom - top) }
        var out: [String] = []
        out.append("<g class=\"panel\">")
        out.append("<text x=\"\(n(originX + width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">perplexity vs \(escape(xLabel))</text>")
        out.append("<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(right - left))\" height=\"\(n(bottom - top))\" fill=\"none\" stroke=\"#444\"/>")
        for k in 0...4 {
            let fx = x0 + (x1 - x0) * Double(k) / 4, fy = y0 + (y1 - y0) * Double(k) / 4
            out.append("<line x1=\"\(n(sx(fx)))\" y1=\"\(n(bottom))\" x2=\"\(n(sx(fx)))\" y2=\"\(n(bottom + 4))\" stroke=\"#444\"/>")
            out.append("<text x=\"\(n(sx(fx)))\" y=\"\(n(bottom + 16))\" text-anchor=\"middle\">\(tick(fx))</text>")
            out.append("<line x1=\"\(n(left - 4))\" y1=\"\(n(sy(fy)))\" x2=\"\(n(left))\" y2=\"\(n(sy(fy)))\" stroke=\"#444\"/>")
            out.append("<text x=\"\(n(left - 6))\" y=\"\(n(sy(fy) + 4))\" text-anchor=\"end\">\(tick(fy))</text>")
        }
        out.append("<text x=\"\(n((left + right) / 2))\" y=\"\(n(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>")
        out.append("<text x=\"\(n(originX + 14))\" y=\"\(n((top + bottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 \(n(originX + 14)) \(n((top + bottom) / 2)))\">validation perplexity</text>")
        for (index, xv, yv) in candidatePoints where !front.contains(index) {
            out.append("<circle class=\"candidate\" data-index=\"\(index)\" cx=\"\(n(sx(xv)))\" cy=\"\(n(sy(yv)))\" r=\"3\" fill=\"#999\"/>")
        }
        for (index, xv, yv) in candidatePoints where front.contains(index) {
            out.append("<circle class=\"pareto\" data-index=\"\(index)\" cx=\"\(n(sx(xv)))\" cy=\"\(n(sy(yv)))\" r=\"4.5\" fill=\"#d62728\"/>")
        }
        for (name, xv, yv) in referencePoints {
            out.append("<rect class=\"reference\" x=\"\(n(sx(xv) - 4.5))\" y=\"\(n(sy(yv) - 4.5))\" width=\"9\" height=\"9\" fill=\"#1f77b4\"/>")
            out.append("<text x=\"\(n(sx(xv) + 7))\" y=\"\(n(sy(yv) - 6))\" fill=\"#1f77b4\">\(escape(name))</text>")
        }
        out.append("</g>")
        return out.joined(separator: "\n")
    }

    /// The range of `values` with 5% margins (a unit range around a single value, 0…1 when empty).
    static func padded(_ values: [Double]) -> (Double, Double) {
        guard let low = values.min(), let high = values.max() else { return (0, 1) }
        if high - low <= 0 { return (low - max(abs(low) * 0.1, 0.5), high + max(abs(high) * 0.1, 0.5)) }
        let margin = (high - low) * 0.05
        return (low - margin, high + margin)
    }

    static func n(_ x: Double) -> String { String(format: "%.1f", x) }

    static func tick(_ x: Double) -> String {
        let magnitude = abs(x)
        if magnitude >= 10_000 { return String(format: "%.3g", x) }
        if magnitude >= 100 { return String(format: "%.0f", x) }
        if magnitude >= 1 { return String(format: "%.2f", x) }
        return String(format: "%.3f", x)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
