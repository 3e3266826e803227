import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';

export class TokenizerError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'TokenizerError';
  }
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

/**
 * A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers, with the
 * model's special tokens and its chat template (rendered with @huggingface/jinja) when it has one.
 */
export class Tokenizer {
  private readonly hf: HFTokenizer;
  private readonly config: Record<string, unknown>;
  private readonly chatTemplate: Template | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;

  constructor(tokenizerJson: unknown, config: Record<string, unknown> = {}, where = 'tokenizer') {
    if (typeof tokenizerJson !== 'object' || tokenizerJson === null) throw new TokenizerError(where, 'tokenizer.json must be a JSON object');
    try {
      this.hf = new HFTokenizer(tokenizerJson, config);
    } catch (err) {
      throw new TokenizerError(where, `cannot build the tokenizer (${(err as Error).message})`);
    }
    this.config = config;
    this.bosToken = tokenText(config['bos_token']);
    this.eosToken = tokenText(config['eos_token']);
    this.padToken = tokenText(config['pad_token']);
    const template = config['chat_template'];
    this.chatTemplate = typeof template === 'string' ? new Template(template) : null;
  }

  /** Loads tokenizer.json (required) and tokenizer_config.json (optional) from a model folder. */
  static fromDir(dir: string): Tokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new TokenizerError(dir, 'no tokenizer.json in this folder');
    const readJson = (p: string): unknown => {
      try {
        return JSON.parse(readFileSync(p, 'utf8'));
      } catch (err) {
        throw new TokenizerError(p, `not valid JSON (${(err as Error).message})`);
      }
    };
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? (readJson(configPath) as Record<string, unknown>) : {};
    return new Tokenizer(readJson(path), config, path);
  }

  /** Token ids of text; special tokens (e.g. BOS) are added as the tokenizer's post-processor says. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return this.hf.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | null {
    return this.hf.token_to_id(token) ?? null;
  }

  get bosId(): number | null {
    return this.bosToken === null ? null : this.tokenToId(this.bosToken);
  }

  get eosId(): number | null {
    return this.eosToken === null ? null : this.tokenToId(this.eosToken);
  }

  /** Pad id: the pad token, else EOS (the usual choice for decoder-only models). */
  get padId(): number | null {
    return (this.padToken === null ? null : this.tokenToId(this.padToken)) ?? this.eosId;
  }

  /** Number of ids the tokenizer can produce (vocabulary plus added tokens). */
  get vocabSize(): number {
    let max = -1;
    for (const id of this.hf.get_vocab(true).values()) max = Math.max(max, id);
    return max + 1;
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== null;
  }

  /** Renders messages with the model's chat template (as transformers' apply_chat_template with tokenize=False). */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.chatTemplate) throw new TokenizerError('tokenizer_config.json', 'this tokenizer has no chat_template');
    return this.chatTemplate.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
      pad_token: this.padToken ?? '',
      unk_token: tokenText(this.config['unk_token']) ?? '',
    });
  }
}
