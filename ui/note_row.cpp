// NoteRow: a box layout turned from left-to-right to top-to-bottom by the room the note has.
#include "note_row.h"

#include <QBoxLayout>
#include <QEvent>
#include <QFontMetrics>
#include <QLabel>

#include <algorithm>

namespace gpulab {

NoteRow::NoteRow(QLabel* note, QWidget* parent) : QWidget(parent), m_note(note)
{
    m_box = new QBoxLayout(QBoxLayout::LeftToRight, this);
    m_box->setContentsMargins(0, 0, 0, 0);
    m_box->addWidget(m_note, 1);
    m_controls = new QHBoxLayout;
    m_controls->addStretch(1); // the controls keep to the right when the note is above them
    m_box->addLayout(m_controls);
}

bool NoteRow::stacked() const
{
    return m_box->direction() == QBoxLayout::TopToBottom;
}

QSize NoteRow::minimumSizeHint() const
{
    const QSize controls = m_controls->minimumSize();
    const QSize note = m_note->minimumSizeHint();
    return {std::max(controls.width(), note.width()), std::max(controls.height(), note.height())};
}

bool NoteRow::event(QEvent* e)
{
    // a new width, a new font, or controls that changed their size (a combo's items)
    if (e->type() == QEvent::Resize || e->type() == QEvent::FontChange || e->type() == QEvent::LayoutRequest)
        place();
    return QWidget::event(e);
}

void NoteRow::place()
{
    // the room beside the controls depends on the width alone, not on where the note is:
    // the choice cannot swing back and forth
    const int room = width() - m_controls->sizeHint().width() - m_box->spacing();
    const bool stack = room < kNoteChars * QFontMetrics(m_note->font()).averageCharWidth();
    if (stack == stacked())
        return;
    m_box->setDirection(stack ? QBoxLayout::TopToBottom : QBoxLayout::LeftToRight);
    m_box->setStretchFactor(m_note, stack ? 0 : 1);
}

} // namespace gpulab
