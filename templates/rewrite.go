package templates

import (
	"fmt"
	"strconv"
	"strings"
	"text/template/parse"
)

// rewriter checks a parse tree against the guards and rewrites it in
// place:
//   - {{template}} and {{block}} are refused, as is assigning to $;
//   - calls to our functions get $ (the render's data root) as their first
//     argument, so they can find the render's step budget;
//   - every range pipeline ends in _range, which refuses anything but a
//     list or map and charges (items × body cost) before the loop starts,
//     and every loop body starts with _tick, which checks the deadline;
//   - optional reads (the value of default, a bare field as the condition
//     of if, with or range, or the arguments of and/or/not there) become
//     _lookup calls, where a missing key is nil instead of an error.
type rewriter struct {
	tree *parse.Tree
	html bool
}

func (w *rewriter) fail(n parse.Node, format string, args ...any) error {
	loc, _ := w.tree.ErrorContext(n)
	line := 0
	if parts := strings.Split(loc, ":"); len(parts) >= 3 {
		line, _ = strconv.Atoi(parts[len(parts)-2])
	}
	return &sourceError{line: line, msg: fmt.Sprintf(format, args...)}
}

func (w *rewriter) list(l *parse.ListNode) error {
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		if err := w.node(n); err != nil {
			return err
		}
	}
	return nil
}

func (w *rewriter) node(n parse.Node) error {
	switch n := n.(type) {
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
		return nil
	case *parse.ActionNode:
		return w.pipe(n.Pipe, false)
	case *parse.IfNode:
		return w.branch(&n.BranchNode)
	case *parse.WithNode:
		return w.branch(&n.BranchNode)
	case *parse.RangeNode:
		if err := w.branch(&n.BranchNode); err != nil {
			return err
		}
		return w.guardRange(n)
	case *parse.TemplateNode:
		return w.fail(n, "{{template}} and {{block}} are not allowed: a field cannot include other templates")
	}
	return w.fail(n, "%s is not supported in templates", n)
}

func (w *rewriter) branch(b *parse.BranchNode) error {
	if err := w.pipe(b.Pipe, true); err != nil {
		return err
	}
	if err := w.list(b.List); err != nil {
		return err
	}
	return w.list(b.ElseList)
}

func (w *rewriter) pipe(p *parse.PipeNode, condition bool) error {
	if p == nil {
		return nil
	}
	for _, v := range p.Decl {
		if v.Ident[0] == "$" {
			return w.fail(v, "the variable $ cannot be assigned: it always holds the message's data")
		}
	}
	if condition && len(p.Cmds) == 1 {
		c := p.Cmds[0]
		if len(c.Args) == 1 {
			w.optionalCommand(c)
		} else if head, ok := c.Args[0].(*parse.IdentifierNode); ok && (head.Ident == "and" || head.Ident == "or" || head.Ident == "not") {
			for i := 1; i < len(c.Args); i++ {
				c.Args[i] = w.optionalArg(c.Args[i])
			}
		}
	}
	for i, c := range p.Cmds {
		if i > 0 && isCall(c, "default") && len(c.Args) == 2 {
			w.optionalCommand(p.Cmds[i-1]) // {{.name | default "friend"}}
		}
		if err := w.command(c); err != nil {
			return err
		}
	}
	return nil
}

func isCall(c *parse.CommandNode, name string) bool {
	id, ok := c.Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == name
}

func (w *rewriter) command(c *parse.CommandNode) error {
	head, _ := c.Args[0].(*parse.IdentifierNode)
	if head != nil && head.Ident == "default" && len(c.Args) == 3 {
		c.Args[2] = w.optionalArg(c.Args[2]) // {{default "friend" .name}}
	}
	for i, a := range c.Args {
		switch a := a.(type) {
		case *parse.IdentifierNode:
			if i > 0 && ownFunc(a.Ident, w.html) {
				return w.fail(a, "%s needs its arguments in parentheses here: (%s ...)", a.Ident, a.Ident)
			}
		case *parse.PipeNode:
			if err := w.pipe(a, false); err != nil {
				return err
			}
		case *parse.ChainNode:
			if p, ok := a.Node.(*parse.PipeNode); ok {
				if err := w.pipe(p, false); err != nil {
					return err
				}
			}
		}
	}
	if head != nil && ownFunc(head.Ident, w.html) {
		args := make([]parse.Node, 0, len(c.Args)+1)
		args = append(args, head, dollar(head.Pos))
		c.Args = append(args, c.Args[1:]...)
	}
	return nil
}

// optionalCommand turns a command that is a bare field read into a
// _lookup call.
func (w *rewriter) optionalCommand(c *parse.CommandNode) {
	if len(c.Args) != 1 {
		return
	}
	if args, ok := w.lookupArgs(c.Args[0]); ok {
		c.Args = args
	}
}

// optionalArg returns a parenthesised _lookup call in place of a field
// read, or n itself.
func (w *rewriter) optionalArg(n parse.Node) parse.Node {
	args, ok := w.lookupArgs(n)
	if !ok {
		return n
	}
	return &parse.PipeNode{NodeType: parse.NodePipe, Pos: n.Position(),
		Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Pos: n.Position(), Args: args}}}
}

func (w *rewriter) lookupArgs(n parse.Node) ([]parse.Node, bool) {
	var base parse.Node
	var keys []string
	switch n := n.(type) {
	case *parse.FieldNode:
		base, keys = &parse.DotNode{NodeType: parse.NodeDot, Pos: n.Pos}, n.Ident
	case *parse.VariableNode:
		if len(n.Ident) < 2 {
			return nil, false
		}
		base = &parse.VariableNode{NodeType: parse.NodeVariable, Pos: n.Pos, Ident: n.Ident[:1]}
		keys = n.Ident[1:]
	default:
		return nil, false
	}
	args := []parse.Node{parse.NewIdentifier(fnLookup).SetTree(w.tree).SetPos(n.Position()), base}
	for _, k := range keys {
		args = append(args, &parse.StringNode{NodeType: parse.NodeString, Pos: n.Position(), Quoted: strconv.Quote(k), Text: k})
	}
	return args, true
}

// guardRange appends "| _range $ body else" to the loop's pipeline and
// starts its body with {{$_ := _tick $}}, which checks the render's
// deadline on every iteration without printing anything (a declaration is
// not output, so html/template leaves it alone too).
func (w *rewriter) guardRange(n *parse.RangeNode) error {
	if len(n.Pipe.Cmds) == 1 && len(n.Pipe.Cmds[0].Args) == 1 {
		switch n.Pipe.Cmds[0].Args[0].(type) {
		case *parse.NumberNode, *parse.StringNode, *parse.BoolNode, *parse.NilNode:
			return w.fail(n, "range needs a list or a map from the data, not a constant")
		}
	}
	pos := n.Pos
	n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{
		parse.NewIdentifier(fnRange).SetTree(w.tree).SetPos(pos),
		dollar(pos),
		number(listCost(n.List)+1, pos), // +1 for the tick
		number(listCost(n.ElseList), pos),
	}})
	tick := &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: &parse.PipeNode{
		NodeType: parse.NodePipe, Pos: pos,
		Decl: []*parse.VariableNode{{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{"$_"}}},
		Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{
			parse.NewIdentifier(fnTick).SetTree(w.tree).SetPos(pos), dollar(pos)}}},
	}}
	n.List.Nodes = append([]parse.Node{tick}, n.List.Nodes...)
	return nil
}

func dollar(pos parse.Pos) *parse.VariableNode {
	return &parse.VariableNode{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{"$"}}
}

func number(n int, pos parse.Pos) *parse.NumberNode {
	return &parse.NumberNode{NodeType: parse.NodeNumber, Pos: pos, IsInt: true, Int64: int64(n), Text: strconv.Itoa(n)}
}

// listCost counts the steps one pass over l takes: one per node and per
// command. A loop inside l counts only its own pipeline, because it pays
// for its body itself each time it runs.
func listCost(l *parse.ListNode) int {
	if l == nil {
		return 0
	}
	c := 0
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			c += 1 + pipeCost(n.Pipe)
		case *parse.IfNode:
			c += 1 + pipeCost(n.Pipe) + listCost(n.List) + listCost(n.ElseList)
		case *parse.WithNode:
			c += 1 + pipeCost(n.Pipe) + listCost(n.List) + listCost(n.ElseList)
		case *parse.RangeNode:
			c += 1 + pipeCost(n.Pipe)
		default:
			c++
		}
	}
	return c
}

func pipeCost(p *parse.PipeNode) int {
	if p == nil {
		return 0
	}
	c := len(p.Cmds)
	for _, cmd := range p.Cmds {
		for _, a := range cmd.Args {
			if sub, ok := a.(*parse.PipeNode); ok {
				c += pipeCost(sub)
			}
		}
	}
	return c
}
