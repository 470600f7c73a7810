//! Recursive-descent parser from tokens to [`Expr`], including the static checks that make a
//! bad expression a parse error: unknown contexts and functions, wrong argument counts, and
//! the nesting limit.

use gantry_core::did_you_mean;

use crate::ast::{CmpOp, Expr, Kind, Segment};
use crate::functions::Func;
use crate::lexer::{Mode, Tok, Token, error, lex};
use crate::{CONTEXTS, ExprError, FUNCTIONS, MAX_DEPTH, MAX_EXPR_LEN, Value};

/// Parses a bare expression such as `git.branch == 'main'`.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    check_len(0, src.len())?;
    let (tokens, end) = lex(src, 0, Mode::Bare)?;
    if tokens.len() == 1 {
        return Err(error(0, src.len(), "empty expression", None));
    }
    parse_tokens(tokens, end)
}

/// Parses an `if:` value: a bare expression, or one `${{ … }}` that is the whole string
/// (surrounding whitespace allowed). Offsets are relative to `src` either way.
pub fn parse_condition(src: &str) -> Result<Expr, ExprError> {
    let trimmed = src.trim();
    if !trimmed.starts_with("${{") {
        return parse(src);
    }
    let template = crate::parse_template(src)?;
    let mut exprs = template.exprs();
    let first = exprs.next();
    if let (Some(expr), None, true) = (first, exprs.next(), template.is_single_expr_in_whitespace())
    {
        return Ok(expr.clone());
    }
    // Point at what follows the first `${{ … }}`.
    let after = first.map_or(0, |e| e.offset + e.len);
    let rest = src
        .get(after..)
        .and_then(|r| r.find("}}"))
        .map_or(after, |i| after + i + 2);
    let rest_start = rest
        + src
            .get(rest..)
            .map_or(0, |r| r.len() - r.trim_start().len());
    let rest_len = src.trim_end().len().saturating_sub(rest_start).max(1);
    Err(error(
        rest_start,
        rest_len,
        "a condition must be one expression: either bare or one '${{ … }}' around the whole value",
        Some("put the whole condition inside a single '${{ … }}', or drop the '${{ }}'"),
    ))
}

pub(crate) fn check_len(offset: usize, len: usize) -> Result<(), ExprError> {
    if len > MAX_EXPR_LEN {
        return Err(error(
            offset,
            len,
            format!("expression is too long ({len} bytes; the limit is {MAX_EXPR_LEN})"),
            None,
        ));
    }
    Ok(())
}

/// Parses lexed tokens (ending with `End` at byte `end`) as one whole expression.
pub(crate) fn parse_tokens(tokens: Vec<Token>, end: usize) -> Result<Expr, ExprError> {
    let mut p = Parser {
        end: Token {
            tok: Tok::End,
            offset: end,
            len: 0,
        },
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = p.or()?;
    let t = p.peek().clone();
    let message = match t.tok {
        Tok::End => return Ok(expr),
        Tok::RParen => "unexpected ')' with no matching '('".to_string(),
        Tok::RBracket => "unexpected ']' with no matching '['".to_string(),
        Tok::LParen => "unexpected '(': only functions can be called".to_string(),
        ref other => format!(
            "expected an operator or the end of the expression, found {}",
            other.describe()
        ),
    };
    Err(error(t.offset, t.len, message, None))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// How many `(`, `[` and argument lists enclose the current position.
    depth: usize,
    end: Token,
}

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).unwrap_or(&self.end)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    fn eat(&mut self, tok: &Tok) -> Option<Token> {
        (self.peek().tok == *tok).then(|| self.bump())
    }

    /// Builds a node, refusing one that would make the tree taller than the limit.
    fn node(&self, kind: Kind, offset: usize, end: usize) -> Result<Expr, ExprError> {
        let expr = Expr::new(kind, offset, end.saturating_sub(offset));
        if expr.height > MAX_DEPTH {
            return Err(too_deep(offset, end.saturating_sub(offset)));
        }
        Ok(expr)
    }

    /// Parses a sub-expression one nesting level deeper (inside `(`, `[` or an argument list).
    fn nested(&mut self, at: &Token) -> Result<Expr, ExprError> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep(at.offset, at.len));
        }
        self.depth += 1;
        let result = self.or();
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.chain(Tok::Or, Parser::and, Kind::Or)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        self.chain(Tok::And, Parser::equality, Kind::And)
    }

    /// `operand (op operand)*` collected into one flat node.
    fn chain(
        &mut self,
        op: Tok,
        operand: fn(&mut Parser) -> Result<Expr, ExprError>,
        make: fn(Vec<Expr>) -> Kind,
    ) -> Result<Expr, ExprError> {
        let first = operand(self)?;
        if self.peek().tok != op {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat(&op).is_some() {
            items.push(operand(self)?);
        }
        let start = items.first().map_or(0, |e| e.offset);
        let end = items.last().map_or(0, |e| e.offset + e.len);
        self.node(make(items), start, end)
    }

    fn equality(&mut self) -> Result<Expr, ExprError> {
        self.binary(
            &[(Tok::Eq, CmpOp::Eq), (Tok::Ne, CmpOp::Ne)],
            Parser::comparison,
        )
    }

    fn comparison(&mut self) -> Result<Expr, ExprError> {
        let ops = [
            (Tok::Lt, CmpOp::Lt),
            (Tok::Le, CmpOp::Le),
            (Tok::Gt, CmpOp::Gt),
            (Tok::Ge, CmpOp::Ge),
        ];
        self.binary(&ops, Parser::unary)
    }

    /// Left-associative binary operators of one precedence level.
    fn binary(
        &mut self,
        ops: &[(Tok, CmpOp)],
        operand: fn(&mut Parser) -> Result<Expr, ExprError>,
    ) -> Result<Expr, ExprError> {
        let mut lhs = operand(self)?;
        while let Some(&(_, op)) = ops.iter().find(|(t, _)| *t == self.peek().tok) {
            self.bump();
            let rhs = operand(self)?;
            let (start, end) = (lhs.offset, rhs.offset + rhs.len);
            lhs = self.node(
                Kind::Compare {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                start,
                end,
            )?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        // Collected in a loop rather than by recursion, so `!!!!…` cannot exhaust the stack.
        let mut nots = Vec::new();
        while let Some(t) = self.eat(&Tok::Not) {
            nots.push(t.offset);
        }
        let mut expr = self.postfix()?;
        for start in nots.into_iter().rev() {
            let end = expr.offset + expr.len;
            expr = self.node(Kind::Not(Box::new(expr)), start, end)?;
        }
        Ok(expr)
    }

    fn postfix(&mut self) -> Result<Expr, ExprError> {
        let base = self.primary()?;
        let mut segments = Vec::new();
        let mut end = base.offset + base.len;
        loop {
            if let Some(dot) = self.eat(&Tok::Dot) {
                let t = self.bump();
                let name = match t.tok {
                    Tok::Ident(name) => name,
                    Tok::True => "true".into(),
                    Tok::False => "false".into(),
                    Tok::Null => "null".into(),
                    other => {
                        let (offset, len) = if other == Tok::End {
                            (dot.offset, 1)
                        } else {
                            (t.offset, t.len)
                        };
                        return Err(error(
                            offset,
                            len,
                            format!(
                                "expected a property name after '.', found {}",
                                other.describe()
                            ),
                            None,
                        ));
                    }
                };
                end = t.offset + t.len;
                segments.push(Segment::Property { name, end });
            } else if let Some(open) = self.eat(&Tok::LBracket) {
                let index = self.nested(&open)?;
                let close = self.expect_close(&Tok::RBracket, &open)?;
                end = close.offset + close.len;
                segments.push(Segment::Index { index, end });
            } else {
                break;
            }
        }
        if segments.is_empty() {
            return Ok(base);
        }
        let start = base.offset;
        self.node(
            Kind::Access {
                base: Box::new(base),
                segments,
            },
            start,
            end,
        )
    }

    fn expect_close(&mut self, close: &Tok, open: &Token) -> Result<Token, ExprError> {
        if let Some(t) = self.eat(close) {
            return Ok(t);
        }
        let found = self.peek();
        Err(error(
            found.offset,
            found.len,
            format!(
                "expected {} to close {} opened at offset {}, found {}",
                close.describe(),
                open.tok.describe(),
                open.offset,
                found.tok.describe()
            ),
            None,
        ))
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let t = self.bump();
        let literal = |v: Value| Ok(Expr::new(Kind::Literal(v), t.offset, t.len));
        match t.tok {
            Tok::Str(ref s) => literal(Value::String(s.clone())),
            Tok::Num(ref n) => literal(n.clone()),
            Tok::True => literal(Value::Bool(true)),
            Tok::False => literal(Value::Bool(false)),
            Tok::Null => literal(Value::Null),
            Tok::LParen => {
                let inner = self.nested(&t)?;
                self.expect_close(&Tok::RParen, &t)?;
                // Parentheses only group: the inner node keeps its own span.
                Ok(inner)
            }
            Tok::Ident(ref name) if self.peek().tok == Tok::LParen => self.call(name, &t),
            Tok::Ident(ref name) => {
                if CONTEXTS.contains(&name.as_str()) {
                    return Ok(Expr::new(Kind::Context(name.clone()), t.offset, t.len));
                }
                let help = if Func::from_name(name).is_some() {
                    format!("'{name}' is a function: call it as '{name}()'")
                } else if let Some(s) = did_you_mean(name, CONTEXTS.iter().copied()) {
                    format!("did you mean '{s}'?")
                } else {
                    format!("the contexts are: {}", CONTEXTS.join(", "))
                };
                Err(error(
                    t.offset,
                    t.len,
                    format!("unknown context '{name}'"),
                    Some(&help),
                ))
            }
            ref other => Err(error(
                t.offset,
                t.len,
                format!("expected an expression, found {}", other.describe()),
                None,
            )),
        }
    }

    fn call(&mut self, name: &str, name_tok: &Token) -> Result<Expr, ExprError> {
        let Some(func) = Func::from_name(name) else {
            let help = match did_you_mean(name, FUNCTIONS.iter().copied()) {
                Some(s) => format!("did you mean '{s}'?"),
                None => format!("the functions are: {}", FUNCTIONS.join(", ")),
            };
            return Err(error(
                name_tok.offset,
                name_tok.len,
                format!("unknown function '{name}'"),
                Some(&help),
            ));
        };
        let open = self.bump();
        let mut args = Vec::new();
        let close = if let Some(close) = self.eat(&Tok::RParen) {
            close
        } else {
            loop {
                args.push(self.nested(&open)?);
                if self.eat(&Tok::Comma).is_none() {
                    break self.expect_close(&Tok::RParen, &open)?;
                }
            }
        };
        let (start, end) = (name_tok.offset, close.offset + close.len);
        let (min, max) = func.arity();
        if args.len() < min || max.is_some_and(|m| args.len() > m) {
            let given = match args.len() {
                1 => "1 was given".to_string(),
                n => format!("{n} were given"),
            };
            return Err(error(
                start,
                end - start,
                format!("'{name}' {}, but {given}", func.arity_text()),
                None,
            ));
        }
        self.node(Kind::Call { func, args }, start, end)
    }
}

fn too_deep(offset: usize, len: usize) -> ExprError {
    error(
        offset,
        len,
        format!("expression is nested too deeply (more than {MAX_DEPTH} levels)"),
        None,
    )
}
