import LFMFormats

/// The width, depth and head counts every decoder's `config.json` gives, read and checked once:
/// all positive, and the query heads a multiple of the KV heads (GQA groups).
struct AttentionShapeKeys {
    let hidden: Int
    let layers: Int
    let heads: Int
    let kvHeads: Int

    /// Reads the keys; a family's class defaults fill in absent ones (nil: the key is required;
    /// `num_key_value_heads` defaults to `num_attention_heads` unless a default is given).
    init(_ json: JSONObject, hidden defaultHidden: Int? = nil, layers defaultLayers: Int? = nil,
         heads defaultHeads: Int? = nil, kvHeads defaultKVHeads: Int? = nil) throws {
        func read(_ key: String, _ fallback: Int?) throws -> Int {
            if let fallback { return try json.int(key) ?? fallback }
            return try json.requiredInt(key)
        }
        hidden = try read("hidden_size", defaultHidden)
        layers = try read("num_hidden_layers", defaultLayers)
        heads = try read("num_attention_heads", defaultHeads)
        kvHeads = try json.int("num_key_value_heads") ?? defaultKVHeads ?? heads
        guard hidden > 0, layers > 0, heads > 0, kvHeads > 0 else {
            throw ConfigError.invalidValue(file: json.file, key: "hidden_size/num_hidden_layers/num_attention_heads/num_key_value_heads",
                                           detail: "must all be positive (found \(hidden), \(layers), \(heads), \(kvHeads))")
        }
        guard heads % kvHeads == 0 else {
            throw ConfigError.inconsistent(file: json.file, detail: "num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kvHeads)")
        }
    }
}
