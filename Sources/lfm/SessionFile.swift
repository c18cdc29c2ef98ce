import Foundation
import LFMChat
import LFMCore
import LFMGeneration
import LFMModels

/// `lfm run --session FILE`: the session file of a chat, tied to the model's fingerprint. The
/// transcript (system prompt and messages) travels as the session's application data (JSON).
struct SessionFile {
    /// What the chat loop shows and re-renders.
    struct Transcript: Codable {
        struct Message: Codable {
            var role: String
            var text: String
        }
        var system: String?
        var messages: [Message]
    }

    let path: String
    let identity: ModelIdentity

    init(path: String, modelPath: String) throws {
        self.path = path
        identity = try ModelFingerprint.compute(path: modelPath)
    }

    /// Loads FILE into `session` when it exists; a file that cannot be used is ignored with a
    /// warning (and replaced at the next save).
    func resume(_ session: InferenceSession) async -> Transcript? {
        guard FileManager.default.fileExists(atPath: path) else {
            printError("(new session: \(path))")
            return nil
        }
        do {
            let data = try await session.load(from: path, model: identity)
            let transcript = try JSONDecoder().decode(Transcript.self, from: Data(data))
            printError("(resumed \(path): \(transcript.messages.count) messages, \(await session.processedTokens.count) tokens)")
            return transcript
        } catch {
            await session.reset()
            printError("warning: ignoring session file: \(error); it will be replaced when this conversation is saved")
            return nil
        }
    }

    /// Saves the conversation; a failure is reported and the chat goes on.
    func save(_ session: InferenceSession, system: String?, messages: [ChatMessage]) async {
        let transcript = Transcript(system: system, messages: messages.map { message in
            if case .string(let text) = message.content { return Transcript.Message(role: message.role, text: text) }
            return Transcript.Message(role: message.role, text: "")   // the chat loop only makes text messages
        })
        do {
            let data = try JSONEncoder().encode(transcript)
            try await session.save(to: path, model: identity, applicationData: [UInt8](data))
        } catch {
            printError("warning: session not saved: \(error)")
        }
    }
}
